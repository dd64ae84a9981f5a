import os
import signal
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import pytest

# One BLAS thread for the whole session and the processes it starts: the tests' small matrix
# products gain nothing from threads, and a suite run beside other work keeps to one core.
# OpenBLAS and OpenMP read these once, when numpy is first imported: that must come after.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"
if "numpy" in sys.modules:
    warnings.warn("numpy was imported before tests/conftest.py: BLAS may use more than one thread")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"


def train_sample(out, epochs: int = 3, *overrides):
    """Train with the built-in defaults on the sample corpus into ``out``; return ``out``."""
    from nerwin import config as cfg
    from nerwin.train import train

    train(cfg.load(None, [f"train.epochs={epochs}", f'data.train="{SAMPLE / "train.conll"}"',
                          f'data.dev="{SAMPLE / "dev.conll"}"', *overrides]), out, quiet=True)
    return out


@contextmanager
def sigint_during_step(n):
    """SIGINT raised while the trainer computes its ``n``-th update, as if Ctrl-C arrived then."""
    from nerwin.model import WindowNetwork

    original, calls = WindowNetwork.loss_and_grads, []

    def loss_and_grads(self, *args, **kwargs):
        calls.append(None)
        if len(calls) == n:
            signal.raise_signal(signal.SIGINT)
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(WindowNetwork, "loss_and_grads", loss_and_grads)
        yield


@pytest.fixture(scope="session", autouse=True)
def word_index_cache(tmp_path_factory):
    """The tests keep GloVe's word index in a folder of their own, not the user's cache
    (unless NERWIN_CACHE_DIR says where)."""
    if not os.environ.get("NERWIN_CACHE_DIR"):
        os.environ["NERWIN_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory):
    """A model trained briefly on the sample corpus (the run folder)."""
    from nerwin import config as cfg
    from nerwin.train import train

    out = tmp_path_factory.mktemp("runs") / "sample"
    config = cfg.load(ROOT / "configs" / "default.toml", [
        f'data.train="{SAMPLE / "train.conll"}"', f'data.dev="{SAMPLE / "dev.conll"}"',
        "train.epochs=4",
    ])
    train(config, out, quiet=True)
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny model trained for one epoch on the sample corpus, random vectors (the model file)."""
    from nerwin import config as cfg
    from nerwin.train import train

    out = tmp_path_factory.mktemp("tiny") / "run"
    config = cfg.load(None, ["train.epochs=1", "model.hidden=[10]", 'embeddings.source="random"',
                             f'data.train="{SAMPLE / "train.conll"}"', f'data.dev="{SAMPLE / "dev.conll"}"'])
    train(config, out, quiet=True)
    return out / "model.npz"


@pytest.fixture(scope="session")
def conll_dir():
    path = os.environ.get("NERWIN_CONLL_DIR")
    if not path or not (Path(path) / "eng.train").is_file():
        pytest.skip("CoNLL-2003 not available (set NERWIN_CONLL_DIR)")
    return Path(path)
