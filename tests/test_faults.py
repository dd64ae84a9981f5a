"""Faults: interrupted training resumes bit for bit, signals leave a checkpoint, a killed
save never damages the previous model, divergence and unwritable folders are clear errors."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from nerwin import config as cfg
from nerwin.cli import cli
from nerwin.errors import DataError
from nerwin.tagger import Tagger
from nerwin.checkpoint import CHECKPOINT
from nerwin.train import Interrupted, train

from conftest import ROOT, SAMPLE, sigint_during_step

SAMPLE_DATA = [f'data.train="{SAMPLE / "train.conll"}"', f'data.dev="{SAMPLE / "dev.conll"}"']
SMALL = SAMPLE_DATA + ["train.epochs=3", "model.hidden=[40, 30]", "regularization.dropout_hidden=0.3",
                       "regularization.dropout_input=0.1",
                       'schedule.name="cosine"', 'schedule.per="step"', "schedule.warmup=5"]  # a new rate every update


def assert_same_params(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return train(cfg.load(None, SMALL), tmp_path_factory.mktemp("full") / "run", quiet=True)


@pytest.mark.parametrize("stop_after", [1, 24, 25, 40, 72])   # 24 batches an epoch, 3 epochs
def test_resumed_run_equals_uninterrupted_run(uninterrupted, stop_after, tmp_path):
    config = cfg.load(None, SMALL)
    with pytest.raises(Interrupted, match="resume with"), sigint_during_step(stop_after):
        train(config, tmp_path / "run", quiet=True)
    assert (tmp_path / "run" / CHECKPOINT).is_file()
    resumed = train(config, tmp_path / "run", quiet=True, resume=True)
    assert_same_params(uninterrupted.tagger.network.params, resumed.tagger.network.params)
    cols = ["epoch", "loss", "dev_f1", "lr"]
    assert resumed.history[cols].equals(uninterrupted.history[cols])
    rates = pd.read_csv(uninterrupted.path / "lr.csv")   # every update's rate, one row each
    assert rates["step"].tolist() == list(range(72)) and rates["epoch"].tolist() == [1] * 24 + [2] * 24 + [3] * 24
    assert (tmp_path / "run" / "lr.csv").read_bytes() == (uninterrupted.path / "lr.csv").read_bytes()


@pytest.mark.parametrize("switch", ["embeddings.suffix_length=3", "regularization.word_dropout=0.3"])
def test_a_run_with_a_switch_on_resumes_to_the_same_model_file(switch, tmp_path):
    """Suffix features add a table the checkpoint must keep; word dropout draws from the
    training generator, which the checkpoint keeps too."""
    config = cfg.load(None, SAMPLE_DATA + ["train.epochs=2", "model.hidden=[20]", switch])
    full = train(config, tmp_path / "full", quiet=True)
    with pytest.raises(Interrupted), sigint_during_step(30):
        train(config, tmp_path / "run", quiet=True)
    resumed = train(config, tmp_path / "run", quiet=True, resume=True)
    assert (resumed.path / "model.npz").read_bytes() == (full.path / "model.npz").read_bytes()
    assert ("A" in resumed.tagger.network.params) == switch.startswith("embeddings.suffix")


def test_resuming_with_word_dropout_turned_off_is_refused(tmp_path):
    config = cfg.load(None, SAMPLE_DATA + ["train.epochs=2", "model.hidden=[20]", "regularization.word_dropout=0.3"])
    off = cfg.load(None, SAMPLE_DATA + ["train.epochs=2", "model.hidden=[20]"])
    with pytest.raises(Interrupted), sigint_during_step(5):
        train(config, tmp_path / "changed", quiet=True)
    with pytest.raises(DataError, match="config changed"):      # the rate is part of the run
        train(off, tmp_path / "changed", quiet=True, resume=True)


def test_resume_refuses_a_changed_config_or_data(tmp_path):
    config = cfg.load(None, SMALL)
    with pytest.raises(Interrupted), sigint_during_step(5):
        train(config, tmp_path / "run", quiet=True)
    changed = cfg.load(None, SMALL + ["optimizer.lr=0.002"])
    with pytest.raises(DataError, match="config changed"):
        train(changed, tmp_path / "run", quiet=True, resume=True)
    copy = tmp_path / "train.conll"
    copy.write_text((SAMPLE / "train.conll").read_text())
    on_copy = cfg.load(None, SMALL + [f'data.train="{copy}"'])
    with pytest.raises(Interrupted), sigint_during_step(5):
        train(on_copy, tmp_path / "run2", quiet=True)
    copy.write_text((SAMPLE / "train.conll").read_text() + "Extra B-PER\n\n")
    with pytest.raises(DataError, match="data.train file changed"):
        train(on_copy, tmp_path / "run2", quiet=True, resume=True)


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.toml").write_text(cfg.dumps(cfg.load(None, SMALL)))
    result = CliRunner().invoke(cli, ["train", "--resume", str(tmp_path / "run")])
    assert result.exit_code == 1 and "no checkpoint to resume from" in result.output


def nerwin_process(*args):
    return subprocess.Popen([sys.executable, "-m", "nerwin", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_a_checkpoint_and_says_how_to_resume(sig, uninterrupted, tmp_path):
    run = tmp_path / "run"
    sets = sum((["--set", s] for s in SMALL + ["train.epochs=200"]), [])
    proc = nerwin_process("train", *sets, "--out", run)
    for line in proc.stderr:                     # wait until the loop runs
        if line.startswith("epoch"):
            break
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "checkpoint saved" in err and f"nerwin train --resume {run}" in err
    assert "Traceback" not in err
    result = CliRunner().invoke(cli, ["train", "--resume", str(run), "--set", "train.epochs=201", "--quiet"])
    assert result.exit_code == 1 and "config changed" in result.output


def test_killed_save_leaves_the_previous_model_intact(sample_run, tmp_path):
    """kill -9 a process that keeps saving over a model: what is on disk always loads."""
    target = tmp_path / "model.npz"
    target.write_bytes((sample_run / "model.npz").read_bytes())
    code = (f"from nerwin.tagger import Tagger\nt = Tagger.load({str(sample_run)!r})\n"
            f"print('ready', flush=True)\nwhile True:\n    t.save({str(target)!r})\n")
    for delay in (0.05, 0.2, 0.5):
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.kill()
        proc.wait()
        Tagger.load(target)                       # loads: never half-written
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "model.npz"]
    assert all(name.startswith(".model.npz.") and name.endswith(".tmp") for name in leftovers)


def test_divergence_stops_and_keeps_the_last_good_model(tmp_path):
    config = cfg.load(None, SAMPLE_DATA + ["train.epochs=3", 'optimizer.name="sgd"', "optimizer.lr=1e30",
                                           "optimizer.clip_norm=0.0"])
    with pytest.raises(DataError, match=r"training diverged: loss is .* at epoch 1, batch \d+, learning rate 1e\+30; "
                                        r"no model was saved \(try a lower"):
        train(config, tmp_path / "run", quiet=True)
    assert not (tmp_path / "run" / "model.npz").exists()


def test_all_o_training_data_is_refused(tmp_path):
    """A typeless model tags nothing: an all-O training file is a wrong file or a wrong column,
    so it stops training before any work (a warning would leave a useless run behind)."""
    path = tmp_path / "all_o.conll"
    path.write_text("".join(f"{line.split()[0]} O\n" if line.strip() else "\n"
                            for line in (SAMPLE / "train.conll").read_text().splitlines()))
    config = cfg.load(None, [f'data.train="{path}"', f'data.dev="{SAMPLE / "dev.conll"}"'])
    with pytest.raises(DataError, match=r"all_o.conll: every tag is O: no entity type to learn"):
        train(config, tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()


def test_unwritable_run_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(cli, ["train", *sum((["--set", s] for s in SMALL), []), "--out", str(blocker / "run")])
    assert result.exit_code == 1
    assert f"{blocker / 'run'}: cannot create the run folder" in result.output
    assert "Traceback" not in result.output


def test_full_disk_keeps_the_previous_file(sample_run, tmp_path, monkeypatch):
    """A write that fails with ENOSPC mid-save: a clear error, the old model intact, no
    temporary file left behind."""
    import errno
    import nerwin.files

    target = tmp_path / "model.npz"
    target.write_bytes((sample_run / "model.npz").read_bytes())
    before = target.read_bytes()
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, f):
            self.f = f
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self.f.close()
        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(nerwin.files.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    with pytest.raises(DataError, match=f"{target}: cannot write: No space left on device"):
        Tagger.load(sample_run).save(target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
