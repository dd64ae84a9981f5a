"""Checkpoints that let training resume bit for bit.

A checkpoint (``checkpoint.npz`` in the run folder) holds the weights, the optimizer state,
the epoch and batch reached, the early-stopping state, the history and the random
generator's state, plus hashes of the config and the data files, so a resume with other
settings or data is refused. Written atomically, read without unpickling anything.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nerwin import config as cfg
from nerwin.data import Corpus
from nerwin.errors import DataError
from nerwin.files import atomic_write, npz_bytes

CHECKPOINT = "checkpoint.npz"


@dataclass
class Progress:
    """Where training is: everything besides weights and optimizer state needed to resume."""

    epoch: int = 1            # the epoch under way (1-based)
    batch: int = 0            # batches of it already done
    step: int = 0             # updates so far
    epoch_loss: float = 0.0   # summed loss of this epoch's batches so far
    best_f1: float = -1.0
    best_epoch: int = 0
    stale: int = 0            # epochs without a dev F1 gain
    history: list = field(default_factory=list)
    rates: list = field(default_factory=list)     # the learning rate of every update so far
    epoch_rng: dict = field(default_factory=dict)  # generator state when this epoch began


def fingerprint(config: dict, train_c: Corpus, dev_c: Corpus) -> dict:
    """Hashes of the resolved config and of the train and dev corpora's words and tags."""
    def digest(corpus):
        h = hashlib.sha256()
        for part in (corpus.words, corpus.tags if corpus.tags is not None else []):
            h.update("\n".join(part).encode("utf-8", "surrogateescape"))
        h.update(np.asarray(corpus.lengths, np.int64).tobytes())
        return h.hexdigest()
    return {"config": hashlib.sha256(cfg.dumps(config).encode()).hexdigest(),
            "train": digest(train_c), "dev": digest(dev_c)}


def save_checkpoint(path: Path, net, optimizer, rng, progress: Progress, prints: dict) -> None:
    """Write the weights, optimizer state, progress, generator state and fingerprints atomically."""
    header = {"progress": asdict(progress), "rng": rng.bit_generator.state, "optimizer_t": optimizer.t,
              "fingerprint": prints}
    arrays = {f"param/{k}": v for k, v in net.params.items()}
    arrays.update({f"opt/{k}": v for k, v in optimizer.state_arrays().items()})
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8)
    atomic_write(path, npz_bytes(arrays))


def load_checkpoint(path: Path, net, optimizer, rng, prints: dict) -> Progress:
    """Restore a checkpoint into ``net``, ``optimizer`` and ``rng`` in place and return its
    progress; a clear :class:`DataError` when it is missing, unreadable, or was written for
    another config, other data or another network shape."""
    if not path.is_file():
        raise DataError(f"{path}: no checkpoint to resume from (train without --resume)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            header = json.loads(npz["header"].tobytes().decode("utf-8"))
            params = {k[6:]: npz[k] for k in npz.files if k.startswith("param/")}
            opt = {k[4:]: npz[k] for k in npz.files if k.startswith("opt/")}
    except (OSError, ValueError, KeyError, json.JSONDecodeError, UnicodeDecodeError, EOFError):
        raise DataError(f"{path}: not a readable nerwin checkpoint") from None
    saved = header["fingerprint"]
    for key in ("config", "train", "dev"):
        if saved.get(key) != prints[key]:
            what = "config" if key == "config" else f"data.{key} file"
            raise DataError(f"{path}: the {what} changed since this checkpoint was written; "
                            "resume only with the same config and data")
    if {k: v.shape for k, v in params.items()} != {k: v.shape for k, v in net.params.items()}:
        raise DataError(f"{path}: parameter shapes do not match the configured model")
    for k, v in params.items():
        net.params[k][...] = v
    optimizer.load_state_arrays(opt, header["optimizer_t"])
    rng.bit_generator.state = header["rng"]
    return Progress(**header["progress"])
