"""Checkpoints that let training resume bit for bit.

A checkpoint (``checkpoint.npz`` in the run folder) holds the weights, the optimizer state,
the epoch and batch reached, the early-stopping state, the history and the random
generator's state, plus hashes of the config and the data files, so a resume with other
settings or data is refused, and the hash of the run's model file as it stood, so a resume never
reports a best F1 for a model file that is not the one it describes. Written atomically, read
without unpickling anything and checked field by field.
"""

from __future__ import annotations

import hashlib
import json
import dataclasses
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nerwin import config as cfg
from nerwin.data import Corpus
from nerwin.errors import DataError
from nerwin.files import atomic_write, npz_bytes, read_npz

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
    epoch_rng: dict = field(default_factory=dict)  # generator state when this epoch began


def fingerprint(config: dict, train_c: Corpus, dev_c: Corpus) -> dict:
    """Hashes of the resolved config and of the train and dev corpora's words and tags."""
    def digest(corpus):
        h = hashlib.sha256()
        for part in (corpus.words, corpus.tags if corpus.tags is not None else []):
            h.update("\n".join(part).encode("utf-8", "surrogateescape"))
        h.update(np.asarray(corpus.lengths, np.int64).tobytes())
        return h.hexdigest()
    return {"config": hashlib.sha256(cfg.dumps(cfg.stored(config)).encode()).hexdigest(),
            "train": digest(train_c), "dev": digest(dev_c)}


def save_checkpoint(path: Path, net, optimizer, rng, progress: Progress, prints: dict,
                    model_sha256: str | None) -> None:
    """Write the weights, optimizer state, progress, generator state and fingerprints atomically,
    with the SHA-256 of the run's model file as it stands (None: no model yet)."""
    state = optimizer.state_arrays()
    header = {"progress": asdict(progress), "rng": rng.bit_generator.state, "optimizer_t": optimizer.t,
              "optimizer_state": sorted(state), "fingerprint": prints, "model_sha256": model_sha256}
    arrays = {f"param/{k}": v for k, v in net.params.items()}
    arrays.update({f"opt/{k}": v for k, v in state.items()})
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8)
    atomic_write(path, npz_bytes(arrays))


def sha256_of(path: Path) -> str | None:
    """The SHA-256 of a file's bytes, None if there is no such file."""
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except FileNotFoundError:
        return None


def load_checkpoint(path: Path, net, optimizer, rng, prints: dict, batches: int) -> tuple[Progress, str | None]:
    """Restore a checkpoint into ``net``, ``optimizer`` and ``rng`` in place; return its progress
    and the SHA-256 the model file had when it was written. Every field is checked first
    (``batches`` is the number of batches in an epoch), so a missing, truncated, edited or
    foreign checkpoint, or one written for another config, other data or another network,
    is one clear :class:`DataError` and nothing is half-restored."""
    if not path.is_file():
        raise DataError(f"{path}: no checkpoint to resume from (train without --resume)")
    damaged = "not a readable nerwin checkpoint (damaged? train without --resume)"
    arrays = read_npz(path, damaged)

    def refuse(what):
        return DataError(f"{path}: {what} (a damaged checkpoint: train without --resume)")
    try:
        header = json.loads(arrays.pop("header").tobytes().decode("utf-8"))
    except (KeyError, ValueError, RecursionError):
        raise DataError(f"{path}: {damaged}") from None
    if not isinstance(header, dict) or set(header) != _HEADER:
        raise refuse(f"the header does not hold exactly the fields {', '.join(sorted(_HEADER))}")
    saved = header["fingerprint"]
    if not (isinstance(saved, dict) and all(isinstance(saved.get(k), str) for k in ("config", "train", "dev"))):
        raise refuse("the header's fingerprint is damaged")
    for key in ("config", "train", "dev"):
        if saved[key] != prints[key]:
            what = "config" if key == "config" else f"data.{key} file"
            raise DataError(f"{path}: the {what} changed since this checkpoint was written; "
                            "resume only with the same config and data")
    progress = _progress(header["progress"], batches)
    if progress is None:
        raise refuse("the header's progress is damaged (or the epoch has fewer batches)")
    t, names, model = header["optimizer_t"], header["optimizer_state"], header["model_sha256"]
    if not (_is_int(t) and t == progress.step and isinstance(names, list)
            and (model is None or isinstance(model, str) and len(model) == 64)):
        raise refuse("the header's optimizer step, state list or model hash is damaged")
    params = {k[6:]: v for k, v in arrays.items() if k.startswith("param/")}
    opt = {k[4:]: v for k, v in arrays.items() if k.startswith("opt/")}
    if {k: v.shape for k, v in params.items()} != {k: v.shape for k, v in net.params.items()}:
        raise DataError(f"{path}: parameter shapes do not match the configured model")
    if sorted(opt) != names or any(k.rpartition("/")[0] not in params or v.shape != params[k.rpartition("/")[0]].shape
                                   for k, v in opt.items()):
        raise refuse("the optimizer state is missing or does not fit the parameters")
    if not all(np.isfinite(v).all() for v in (*params.values(), *opt.values())):
        raise refuse("it holds NaN or infinite numbers")
    state = rng.bit_generator.state
    try:
        rng.bit_generator.state = header["rng"]
    except (TypeError, ValueError, KeyError):
        rng.bit_generator.state = state
        raise refuse("the random generator state is damaged") from None
    for k, v in params.items():
        net.params[k][...] = v
    optimizer.load_state_arrays(opt, t)
    return progress, model


_HEADER = {"progress", "rng", "optimizer_t", "optimizer_state", "fingerprint", "model_sha256"}


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _progress(fields, batches: int) -> Progress | None:
    """The progress a header holds, if it is whole and possible: None otherwise."""
    names = {f.name for f in dataclasses.fields(Progress)}
    if not isinstance(fields, dict) or set(fields) != names:
        return None
    p = Progress(**fields)
    ints = (p.epoch, p.batch, p.step, p.best_epoch, p.stale)
    floats = (p.epoch_loss, p.best_f1)
    if not (all(map(_is_int, ints)) and all(isinstance(x, (int, float)) and math.isfinite(x) for x in floats)
            and isinstance(p.history, list) and all(isinstance(r, dict) for r in p.history)
            and isinstance(p.epoch_rng, dict)):
        return None
    possible = (p.epoch >= 1 and 0 <= p.batch <= batches and p.step >= 0 and 0 <= p.best_epoch < p.epoch
                and p.stale >= 0 and len(p.history) == p.epoch - 1
                and (p.batch == 0 or p.epoch_rng))
    return p if possible else None
