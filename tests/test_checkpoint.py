"""Checkpoints: every damaged one is one clear error with nothing half-restored, and a
checkpoint never resumes against a model file it does not describe."""

import json
import shutil
import signal

import numpy as np
import pytest

from nerwin import config as cfg
from nerwin import train as training
from nerwin.checkpoint import CHECKPOINT
from nerwin.errors import DataError
from nerwin.files import npz_bytes
from nerwin.model import WindowNetwork
from nerwin.tagger import MODEL_FILE
from nerwin.train import Interrupted, train

from conftest import SAMPLE

SMALL = [f'data.train="{SAMPLE / "train.conll"}"', f'data.dev="{SAMPLE / "dev.conll"}"', "train.epochs=2",
         "model.hidden=[20]"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished two-epoch run that kept its checkpoint (epoch 3, batch 0)."""
    run = tmp_path_factory.mktemp("finished") / "run"
    train(cfg.load(None, SMALL), run, quiet=True, keep_checkpoint=True)
    return run


@pytest.fixture
def run(finished, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    return copy


def arrays_of(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k].copy() for k in npz.files}


def rewrite(path, edit):
    arrays = arrays_of(path)
    header = json.loads(arrays["header"].tobytes())
    edit(arrays, header)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    path.write_bytes(npz_bytes(arrays))


def drop(*keys):
    def edit(arrays, header):
        for k in keys:
            del header[k]
    return edit


def progress(**changes):
    def edit(arrays, header):
        header["progress"].update(changes)
    return edit


def without_optimizer_state(arrays, header):
    for k in [k for k in arrays if k.startswith("opt/")]:
        del arrays[k]


def nan_weights(arrays, header):
    arrays["param/W1"] = np.full_like(arrays["param/W1"], np.nan)


def header_a_list(arrays, header):
    header.clear()
    arrays["header"] = np.frombuffer(b'["progress"]', np.uint8)


DAMAGE = {
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "not a readable nerwin checkpoint"),
    "empty": (lambda p: p.write_bytes(b""), "not a readable nerwin checkpoint"),
    "no header": (lambda p: p.write_bytes(npz_bytes({"x": np.zeros(3)})), "not a readable nerwin checkpoint"),
    "header a list": (lambda p: rewrite(p, header_a_list), "the header does not hold exactly the fields"),
    "no fingerprint": (lambda p: rewrite(p, drop("fingerprint")), "the header does not hold exactly the fields"),
    "no model hash": (lambda p: rewrite(p, drop("model_sha256")), "the header does not hold exactly the fields"),
    "unknown progress field": (lambda p: rewrite(p, progress(bogus=1)), "progress is damaged"),
    "batch past the epoch": (lambda p: rewrite(p, progress(batch=10**6)), "progress is damaged"),
    "negative batch": (lambda p: rewrite(p, progress(batch=-1)), "progress is damaged"),
    "epoch as text": (lambda p: rewrite(p, progress(epoch="3")), "progress is damaged"),
    "history cut": (lambda p: rewrite(p, progress(history=[])), "progress is damaged"),
    "rng malformed": (lambda p: rewrite(p, lambda a, h: h.update(rng={"bit_generator": "MT19937"})),
                      "random generator state is damaged"),
    "no optimizer state": (lambda p: rewrite(p, without_optimizer_state), "optimizer state is missing"),
    "optimizer step edited": (lambda p: rewrite(p, lambda a, h: h.update(optimizer_t=1)), "optimizer step"),
    "NaN weights": (lambda p: rewrite(p, nan_weights), "NaN or infinite"),
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_checkpoint_is_one_clear_error(run, damage):
    damage_it, needle = damage
    damage_it(run / CHECKPOINT)
    model = (run / MODEL_FILE).read_bytes()
    with pytest.raises(DataError, match=f"checkpoint.npz: .*{needle}") as info:
        train(cfg.load(None, SMALL), run, quiet=True, resume=True)
    assert "\n" not in str(info.value)
    assert (run / MODEL_FILE).read_bytes() == model


def test_a_model_file_the_checkpoint_does_not_describe_is_refused(tmp_path, monkeypatch):
    """Stopped in epoch 2 (SIGINT), then model.npz replaced by another run's: the checkpoint's
    weights are not a model, so nothing can vouch for the file; resuming would report a best
    F1 it does not have."""
    config = cfg.load(None, SMALL)
    steps = []

    def loss_and_grads(self, *args, **kwargs):
        steps.append(None)
        if len(steps) == 30:                       # epoch 2 (23 batches an epoch)
            signal.raise_signal(signal.SIGINT)
        return original(self, *args, **kwargs)
    original = WindowNetwork.loss_and_grads
    monkeypatch.setattr(WindowNetwork, "loss_and_grads", loss_and_grads)
    with pytest.raises(Interrupted):
        train(config, tmp_path / "run", quiet=True)
    monkeypatch.undo()
    train(cfg.load(None, SMALL + ["train.epochs=1", "train.seed=7"]), tmp_path / "other", quiet=True)
    shutil.copy(tmp_path / "other" / MODEL_FILE, tmp_path / "run" / MODEL_FILE)
    with pytest.raises(DataError, match="model.npz: not the model the checkpoint describes"):
        train(config, tmp_path / "run", quiet=True, resume=True)


def test_stopped_between_checkpoint_and_model_the_model_is_written_again(finished, tmp_path, monkeypatch):
    """Killed after the checkpoint that names epoch 2's model, before the model is written: the
    checkpoint's weights are that model, so resuming writes it, byte for byte the same."""
    config = cfg.load(None, SMALL)
    saves = []

    def atomic_write(path, data):
        if path.name == MODEL_FILE and len(saves) == 1:
            raise SystemExit("kill -9")
        saves.append(path)
        return original(path, data)
    original = training.atomic_write
    monkeypatch.setattr(training, "atomic_write", atomic_write)
    with pytest.raises(SystemExit):
        train(config, tmp_path / "run", quiet=True)
    monkeypatch.undo()
    resumed = train(config, tmp_path / "run", quiet=True, resume=True)
    assert (tmp_path / "run" / MODEL_FILE).read_bytes() == (finished / MODEL_FILE).read_bytes()
    assert resumed.best_f1 == pytest.approx(json_best(finished), abs=1e-4)


def json_best(run):
    return max(float(line.split(",")[4]) for line in (run / "metrics.csv").read_text().splitlines()[1:])
