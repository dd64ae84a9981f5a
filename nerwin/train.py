"""The training loop: epochs of shuffled minibatches, dev evaluation, the best model kept,
checkpoints that resume bit for bit.

The trainer owns history, progress bars and checkpoints (:mod:`nerwin.checkpoint`); the
network and the optimizer never print. ``train(config) -> Run`` is what ``nerwin train`` calls.

A checkpoint is written after every epoch and when SIGINT or SIGTERM arrives (after the step
under way); ``train(..., resume=True)`` continues from it exactly as if nothing had happened.
A run that finishes removes it (``keep_checkpoint`` keeps it). The run folder itself, and
replacing an existing run, are :mod:`nerwin.runfolder`'s.
"""

from __future__ import annotations

import hashlib
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from nerwin import config as cfg
from nerwin.checkpoint import CHECKPOINT, Progress, fingerprint, load_checkpoint, save_checkpoint, sha256_of
from nerwin.data import Corpus, read_conll, with_case_variants
from nerwin.embeddings import coverage, load_pretrained
from nerwin.errors import DataError, NerwinError
from nerwin.evaluate import evaluate
from nerwin.files import atomic_write, atomic_write_text
from nerwin.optim import make_optimizer
from nerwin.runfolder import RunFolder
from nerwin.schedules import schedule_from_config
from nerwin.tagger import MODEL_FILE, Tagger

RATES = "lr.csv"
NOT_EVALUATED = dict.fromkeys(("precision", "recall", "f1", "token_accuracy"), float("nan"))


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


def load_corpora(config: dict):
    enc = config["data"]["encoding"]
    train = read_conll(cfg.resolve_path(config, "data.train"), encoding=enc)
    dev = read_conll(cfg.resolve_path(config, "data.dev"), encoding=enc)
    return train, dev


def default_run_dir(config_path) -> Path:
    stem = Path(config_path).stem if config_path else "run"
    return Path("runs") / f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"


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
          overwrite: bool = False, keep_checkpoint: bool = False,
          corpora: tuple[Corpus, Corpus] | None = None) -> Run:
    """Train a tagger as ``config`` says; write the run folder ``out``; return the :class:`Run`.

    Every epoch is one pass over the shuffled training windows in minibatches, then an
    evaluation on dev; the model with the best dev F1 is saved as ``out/model.npz``.
    ``resume`` continues from ``out/checkpoint.npz``. A folder that already holds a run is
    refused unless ``overwrite``, which replaces it once the new run has its first model
    (:mod:`nerwin.runfolder`). A finished run removes its checkpoint unless ``keep_checkpoint``.
    ``corpora`` gives the train and dev corpora directly instead of the config's files (for
    experiments on subsets).
    """
    out = Path(out) if out else default_run_dir(None)
    folder = RunFolder(out, resume, overwrite)
    try:
        return _train(config, folder, quiet, log, resume, keep_checkpoint, corpora)
    finally:
        folder.discard()  # a replacement that never got a model; the old run is left as it was


def _train(config: dict, folder: RunFolder, quiet: bool, log, resume: bool, keep_checkpoint: bool,
           corpora: tuple[Corpus, Corpus] | None) -> Run:
    log = log or (lambda msg: print(msg, file=sys.stderr))
    say = (lambda msg: None) if quiet else log
    t = config["train"]
    rng = np.random.default_rng(t["seed"])

    train_c, dev_c = corpora or load_corpora(config)
    if not train_c.entity_types():
        raise DataError(f"{train_c.path}: every tag is O: no entity type to learn "
                        "(expected tags like B-PER; is the tag column the last one?)")
    for corpus in (train_c, dev_c):
        if repaired := corpus.repair_warning():
            log(f"nerwin: warning: {repaired}")
    # the vocabulary comes from the file as written: copies would lift every word over min_count
    emb = config["embeddings"]
    pretrained = load_pretrained(emb["source"])
    tagger = Tagger.create(config, train_c, pretrained, rng)
    found = coverage(train_c.words, pretrained, emb["lowercase"], emb["normalize_digits"])["found"]
    cases = config["data"]["case_variants"]
    train_c, dev_c = (with_case_variants(c, cases) for c in (train_c, dev_c))
    net, labels = tagger.network, tagger.labels
    X = tagger.featurize(train_c.words, train_c.lengths)
    y = labels.encode(train_c.spans(labels.types)[0], train_c.n_tokens)
    optimizer = make_optimizer(config)
    prints = fingerprint(config, train_c, dev_c)
    n, batch = len(y), t["batch_size"]
    n_batches = -(-n // batch)
    p, model_sha256 = _start(folder.path, config, resume, tagger, optimizer, rng, prints, n_batches, say)

    schedule = schedule_from_config(config, n_batches)
    emb_scale = config["embeddings"]["lr"] / config["optimizer"]["lr"]
    say(f"training on {train_c.path}: {len(train_c)} sentences, {n} windows, {len(tagger.vocab)} words "
        f"({found:.1%} of tokens have a pretrained vector), "
        f"tags {' '.join(labels.types)} ({train_c.scheme} read, {labels.scheme} inside)")
    if cases:
        say(f"case variants: train and dev are each the file plus a re-cased copy per case ({', '.join(cases)}), "
            f"tags unchanged; dev F1 (model selection) is over all {len(cases) + 1} copies")

    show_bar = not quiet and sys.stderr.isatty()
    with stop_requests() as stops, np.errstate(all="ignore"):  # non-finite losses are caught in _step
        while p.epoch <= t["epochs"]:
            start = time.perf_counter()
            order = _permutation(rng, p, n)
            lr = schedule(max(p.step - 1, 0))  # what metrics.csv records if no update is left
            with tqdm(total=n_batches, initial=p.batch, desc=f"epoch {p.epoch}", unit="batch",
                      disable=not show_bar, leave=False) as bar:
                while p.batch < n_batches:
                    lr = schedule(p.step)
                    idx = order[p.batch * batch:(p.batch + 1) * batch]
                    _step(net, optimizer, X, y, idx, rng, lr, emb_scale, p, folder.target)
                    bar.update()
                    if stops:
                        _interrupted(folder, p, lambda path: save_checkpoint(path, net, optimizer, rng, p, prints,
                                                                             model_sha256))
            best = _end_epoch(tagger, dev_c, p, config, n, n_batches, lr, schedule, start, folder.path, say)
            if best is not None:    # the checkpoint names the new model before it is written
                model_sha256 = hashlib.sha256(best).hexdigest()
            save_checkpoint(folder.path / CHECKPOINT, net, optimizer, rng, p, prints, model_sha256)
            if best is not None:
                atomic_write(folder.path / MODEL_FILE, best)
            folder.settle()
            if t["patience"] and p.stale >= t["patience"]:
                say(f"early stop: no dev F1 gain in {p.stale} epochs")
                break
    folder.finish(keep_checkpoint)
    out = folder.path
    say(f"best dev F1 {p.best_f1:.2f} at epoch {p.best_epoch}; model in {out / MODEL_FILE}")
    return Run(out, pd.DataFrame(p.history), p.best_epoch, p.best_f1, Tagger.load(out / MODEL_FILE))


def _interrupted(folder: RunFolder, p: Progress, save) -> None:
    """Stop on a signal: save a checkpoint and say how to resume, or with a replacement that
    has no model yet, say that the old run is left as it was."""
    if folder.staged:
        raise Interrupted(f"interrupted at epoch {p.epoch}, batch {p.batch}, before its first model: "
                          f"{folder.target} is left as it was")
    save(folder.path / CHECKPOINT)
    raise Interrupted(f"interrupted at epoch {p.epoch}, batch {p.batch}; checkpoint saved: "
                      f"resume with  nerwin train --resume {folder.path}")


def _start(out: Path, config: dict, resume: bool, tagger: Tagger, optimizer, rng, prints: dict,
           batches: int, say) -> tuple[Progress, str | None]:
    """The progress to start from and the SHA-256 of the run's model file: a checkpoint's when
    resuming, else a new run folder's."""
    if resume:
        if not (out / CHECKPOINT).exists() and (out / MODEL_FILE).is_file():
            raise DataError(f"{out}: the run finished and its checkpoint was removed; there is nothing to "
                            "resume (--keep-checkpoint keeps a finished run's checkpoint)")
        progress, model_sha256 = load_checkpoint(out / CHECKPOINT, tagger.network, optimizer, rng, prints, batches)
        _check_model(out / MODEL_FILE, tagger, progress, model_sha256, say)
        say(f"resuming {out} at epoch {progress.epoch}, batch {progress.batch}")
        return progress, model_sha256
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{out}: cannot create the run folder: {e.strerror}") from None
    atomic_write_text(out / "config.toml", cfg.dumps(config))
    return Progress(), None


def _check_model(path: Path, tagger: Tagger, p: Progress, recorded: str | None, say) -> None:
    """The model file must be the one the checkpoint names. The checkpoint is written just
    before the model it names: if the run stopped between the two, the checkpoint's weights
    are that model (it is the epoch just ended), so it is written again from them."""
    if sha256_of(path) == recorded:
        return
    if recorded is not None and p.batch == 0 and p.best_epoch == p.epoch - 1:
        model = tagger.file_bytes()
        if hashlib.sha256(model).hexdigest() == recorded:
            atomic_write(path, model)
            say(f"{path}: written again from the checkpoint (the run stopped before writing it)")
            return
    raise DataError(f"{path}: not the model the checkpoint describes (written by another run?); "
                    "resuming would report a best dev F1 this file does not have: train without --resume")


def _permutation(rng, p: Progress, n: int) -> np.ndarray:
    """This epoch's order of the ``n`` windows; resuming mid-epoch, the same permutation
    again, drawn from the generator as the epoch began, which is then put back as it was."""
    if p.batch == 0:
        p.epoch_rng = rng.bit_generator.state
        return rng.permutation(n)
    now = rng.bit_generator.state
    rng.bit_generator.state = p.epoch_rng
    order = rng.permutation(n)
    rng.bit_generator.state = now
    return order


def _step(net, optimizer, X, y, idx, rng, lr: float, emb_scale: float, p: Progress, out: Path) -> None:
    """One update on the windows ``idx``; the word vectors' rate is ``lr · emb_scale`` when set."""
    loss, grads = net.loss_and_grads(X.words[idx], X.casing[idx], y[idx], rng, X.suffix[idx])
    if not np.isfinite(loss):
        raise DataError(
            f"training diverged: loss is {loss} at epoch {p.epoch}, batch {p.batch + 1}, "
            f"learning rate {lr:g}; "
            + (f"the last good model is kept in {out}" if (out / MODEL_FILE).is_file() else "no model was saved")
            + " (try a lower optimizer.lr)"
        )
    optimizer.step(net.params, net.updates(grads), lr, {"E": lr * emb_scale} if emb_scale else None)
    p.epoch_loss += loss * len(idx)
    p.batch += 1
    p.step += 1


def _end_epoch(tagger: Tagger, dev_c: Corpus, p: Progress, config: dict, n: int, n_batches: int, lr: float,
               schedule, start: float, out: Path, say) -> bytes | None:
    """Evaluate on dev when due, add the epoch's row to the history and ``metrics.csv``, write
    every update's rate so far to ``lr.csv``, move ``p`` to the next epoch; return the model
    file's bytes if its dev F1 is the best so far."""
    t = config["train"]
    train_time = time.perf_counter() - start
    evaluated = p.epoch == t["epochs"] or p.epoch % t["eval_every"] == 0
    # The epoch is chosen on the network's own decoding: model.consistency is a document-level
    # pass over its output, so switching it on or off never changes the weights a run keeps.
    result = evaluate(tagger, dev_c, consistency=False) if evaluated else NOT_EVALUATED
    row = {
        "epoch": p.epoch, "loss": p.epoch_loss / n, "dev_precision": result["precision"],
        "dev_recall": result["recall"], "dev_f1": result["f1"], "dev_accuracy": result["token_accuracy"],
        "lr": lr, "seconds": time.perf_counter() - start, "windows_per_s": n / max(train_time, 1e-9),
    }
    p.history.append(row)
    improved = evaluated and result["f1"] > p.best_f1
    if improved:
        p.best_f1, p.best_epoch, p.stale = result["f1"], p.epoch, 0
    elif evaluated:
        p.stale += 1
    atomic_write_text(out / "metrics.csv", pd.DataFrame(p.history).to_csv(index=False, float_format="%.4f"))
    atomic_write_text(out / RATES, _rates_csv(schedule, p.step, n_batches))
    if evaluated:
        say(f"epoch {p.epoch:3d}  loss {row['loss']:.4f}  dev P {row['dev_precision']:.2f} "
            f"R {row['dev_recall']:.2f} F1 {row['dev_f1']:.2f}  lr {lr:.2g}  {row['seconds']:.1f}s"
            f"{'  *' if improved else ''}")
    p.epoch, p.batch, p.epoch_loss = p.epoch + 1, 0, 0.0
    return tagger.file_bytes() if improved else None


def _rates_csv(schedule, step: int, n_batches: int) -> str:
    """``lr.csv``: one row per update so far, ``step`` (0-based), ``epoch`` (1-based) and its
    rate ``schedule(step)`` to the last bit (the rate depends on the step alone, so a resumed
    run writes the same file)."""
    steps = np.arange(step)
    return pd.DataFrame({"step": steps, "epoch": steps // n_batches + 1,
                         "lr": [schedule(k) for k in range(step)]}).to_csv(index=False)
