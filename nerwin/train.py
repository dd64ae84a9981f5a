"""The training loop: epochs of shuffled minibatches, dev evaluation, the best model kept,
checkpoints that resume bit for bit.

The trainer owns history, progress bars and checkpoints; the network and the optimizer
never print. ``train(config) -> Run`` is what ``nerwin train`` calls.

A checkpoint (``checkpoint.npz`` in the run folder) holds the weights, the optimizer state,
the epoch and batch reached, the early-stopping state, the history and the random
generator's state, plus hashes of the config and the data files. It is written after every
epoch and when SIGINT or SIGTERM arrives (after the step under way); ``train(..., resume=True)``
continues from it exactly as if nothing had happened.
"""

from __future__ import annotations

import hashlib
import json
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from nerwin import config as cfg
from nerwin.data import Corpus, read_conll
from nerwin.embeddings import load_pretrained
from nerwin.errors import DataError, NerwinError
from nerwin.evaluate import evaluate
from nerwin.files import atomic_write, atomic_write_text, npz_bytes
from nerwin.optim import OPTIMIZERS
from nerwin.schedules import make_schedule
from nerwin.tagger import MODEL_FILE, Tagger

CHECKPOINT = "checkpoint.npz"


class Interrupted(NerwinError):
    """Training stopped by a signal after saving a checkpoint."""

    exit_code = 130


@dataclass
class Run:
    """What a training run leaves: its folder, per-epoch history and the best model."""

    path: Path
    history: pd.DataFrame
    best_epoch: int
    best_f1: float
    tagger: Tagger


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


def load_corpora(config: dict):
    enc = config["data"]["encoding"]
    train = read_conll(cfg.resolve_path(config, "data.train"), encoding=enc)
    dev = read_conll(cfg.resolve_path(config, "data.dev"), encoding=enc)
    return train, dev


def make_optimizer(config: dict):
    o = config["optimizer"]
    options = {k: v for k, v in o.items() if k not in ("name", "lr")}
    if o["name"] not in ("momentum", "nesterov"):
        options.pop("momentum")
    if o["name"] not in ("adam", "adamw"):
        for k in ("beta1", "beta2", "weight_decay"):
            options.pop(k)
    if o["name"] in ("sgd", "momentum", "nesterov"):
        options.pop("eps")
    if o["name"] == "adamw" and not options.get("weight_decay"):
        options.pop("weight_decay")
    return OPTIMIZERS[o["name"]](**options)


def default_run_dir(config_path) -> Path:
    stem = Path(config_path).stem if config_path else "run"
    return Path("runs") / f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"


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


@contextmanager
def stop_requests():
    """Turn SIGINT/SIGTERM into a flag the loop checks after each step (main thread only)."""
    requested = []
    if threading.current_thread() is not threading.main_thread():
        yield requested
        return
    handler = lambda signum, frame: requested.append(signum)
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield requested
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def train(config: dict, out=None, quiet: bool = False, log=None, resume: bool = False,
          stop_after_steps: int | None = None, corpora: tuple[Corpus, Corpus] | None = None) -> Run:
    """Train a tagger as ``config`` says; write the run folder ``out``; return the :class:`Run`.

    Every epoch is one pass over the shuffled training windows in minibatches, then an
    evaluation on dev; the model with the best dev F1 is saved as ``out/model.npz``.
    ``resume`` continues from ``out/checkpoint.npz``. ``stop_after_steps`` behaves like a
    signal arriving after that many updates (for tests). ``corpora`` gives the train and dev
    corpora directly instead of the config's files (for experiments on subsets).
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    say = (lambda msg: None) if quiet else log
    t = config["train"]
    rng = np.random.default_rng(t["seed"])
    out = Path(out) if out else default_run_dir(None)

    train_c, dev_c = corpora or load_corpora(config)
    for corpus in (train_c, dev_c):
        repaired = corpus.repair_warning()
        if repaired:
            log(f"nerwin: warning: {repaired}")
    pretrained = load_pretrained(config["embeddings"]["source"])
    tagger = Tagger.create(config, train_c, pretrained, rng)
    net, labels = tagger.network, tagger.labels
    X = tagger.featurize(train_c.words, train_c.lengths)
    spans, _ = train_c.spans(labels.types)
    y = labels.encode(spans, train_c.n_tokens)
    optimizer = make_optimizer(config)
    prints = fingerprint(config, train_c, dev_c)

    progress = Progress()
    if resume:
        progress = _load_checkpoint(out / CHECKPOINT, net, optimizer, rng, prints)
        say(f"resuming {out} at epoch {progress.epoch}, batch {progress.batch}")
    else:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DataError(f"{out}: cannot create the run folder: {e.strerror}") from None
        atomic_write_text(out / "config.toml", cfg.dumps(config))

    n, batch = len(y), t["batch_size"]
    n_batches = -(-n // batch)
    sched = config["schedule"]
    per_step = sched["per"] == "step"
    total = t["epochs"] * (n_batches if per_step else 1)
    schedule = make_schedule(sched["name"], config["optimizer"]["lr"], sched["warmup"], decay=sched["decay"],
                             every=sched["every"], min_lr=sched["min_lr"], total=total)
    emb_scale = config["embeddings"]["lr"] / config["optimizer"]["lr"]
    say(f"training on {train_c.path}: {len(train_c)} sentences, {n} windows, {len(tagger.vocab)} words, "
        f"tags {' '.join(labels.types)} ({train_c.scheme} read, {labels.scheme} inside)")

    show_bar = not quiet and sys.stderr.isatty()
    p = progress
    with stop_requests() as stops, np.errstate(all="ignore"):  # non-finite losses are caught below
        while p.epoch <= t["epochs"]:
            start = time.perf_counter()
            if p.batch == 0:
                p.epoch_rng = rng.bit_generator.state
                order = rng.permutation(n)
            else:  # resuming mid-epoch: the same permutation, then the generator as it was
                now = rng.bit_generator.state
                rng.bit_generator.state = p.epoch_rng
                order = rng.permutation(n)
                rng.bit_generator.state = now
            lr = schedule(max(p.step - 1, 0) if per_step else p.epoch - 1)
            with tqdm(total=n_batches, initial=p.batch, desc=f"epoch {p.epoch}", unit="batch",
                      disable=not show_bar, leave=False) as bar:
                while p.batch < n_batches:
                    lr = schedule(p.step if per_step else p.epoch - 1)
                    idx = order[p.batch * batch:(p.batch + 1) * batch]
                    loss, grads = net.loss_and_grads(X.words[idx], X.casing[idx], y[idx], rng)
                    if not np.isfinite(loss):
                        raise DataError(
                            f"training diverged: loss is {loss} at epoch {p.epoch}, batch {p.batch + 1}, "
                            f"learning rate {lr:g}; the last good model is kept in {out} (try a lower optimizer.lr)"
                        )
                    optimizer.step(net.params, net.updates(grads), lr, {"E": lr * emb_scale} if emb_scale else None)
                    p.epoch_loss += loss * len(idx)
                    p.batch += 1
                    p.step += 1
                    bar.update()
                    if stop_after_steps is not None and p.step >= stop_after_steps:
                        stops.append("test")
                    if stops:
                        _save_checkpoint(out / CHECKPOINT, net, optimizer, rng, p, prints)
                        raise Interrupted(
                            f"interrupted at epoch {p.epoch}, batch {p.batch}; checkpoint saved: "
                            f"resume with  nerwin train --resume {out}"
                        )
            train_time = time.perf_counter() - start
            last = p.epoch == t["epochs"]
            evaluated = last or p.epoch % t["eval_every"] == 0
            result = evaluate(tagger, dev_c) if evaluated else dict.fromkeys(
                ("precision", "recall", "f1", "token_accuracy"), float("nan"))
            row = {
                "epoch": p.epoch, "loss": p.epoch_loss / n, "dev_precision": result["precision"],
                "dev_recall": result["recall"], "dev_f1": result["f1"], "dev_accuracy": result["token_accuracy"],
                "lr": lr, "seconds": time.perf_counter() - start, "windows_per_s": n / max(train_time, 1e-9),
            }
            p.history.append(row)
            improved = evaluated and result["f1"] > p.best_f1
            if improved:
                p.best_f1, p.best_epoch, p.stale = result["f1"], p.epoch, 0
                tagger.save(out / MODEL_FILE)
            elif evaluated:
                p.stale += 1
            atomic_write_text(out / "metrics.csv", pd.DataFrame(p.history).to_csv(index=False, float_format="%.4f"))
            if evaluated:
                say(f"epoch {p.epoch:3d}  loss {row['loss']:.4f}  dev P {row['dev_precision']:.2f} "
                    f"R {row['dev_recall']:.2f} F1 {row['dev_f1']:.2f}  lr {lr:.2g}  {row['seconds']:.1f}s"
                    f"{'  *' if improved else ''}")
            p.epoch, p.batch, p.epoch_loss = p.epoch + 1, 0, 0.0
            _save_checkpoint(out / CHECKPOINT, net, optimizer, rng, p, prints)
            if t["patience"] and p.stale >= t["patience"]:
                say(f"early stop: no dev F1 gain in {p.stale} epochs")
                break
    say(f"best dev F1 {p.best_f1:.2f} at epoch {p.best_epoch}; model in {out / MODEL_FILE}")
    best = Tagger.load(out / MODEL_FILE)
    return Run(out, pd.DataFrame(p.history), p.best_epoch, p.best_f1, best)


def _save_checkpoint(path: Path, net, optimizer, rng, progress: Progress, prints: dict) -> None:
    header = {"progress": asdict(progress), "rng": rng.bit_generator.state, "optimizer_t": optimizer.t,
              "fingerprint": prints}
    arrays = {f"param/{k}": v for k, v in net.params.items()}
    arrays.update({f"opt/{k}": v for k, v in optimizer.state_arrays().items()})
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8)
    atomic_write(path, npz_bytes(arrays))


def _load_checkpoint(path: Path, net, optimizer, rng, prints: dict) -> Progress:
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
