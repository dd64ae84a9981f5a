"""The training loop: epochs of shuffled minibatches, dev evaluation, the best model kept.

The trainer owns history, progress bars and checkpoints; the network and the optimizer
never print. ``train(config) -> Run`` is what ``nerwin train`` calls.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from nerwin import config as cfg
from nerwin.data import Corpus, read_conll
from nerwin.embeddings import load_pretrained
from nerwin.errors import DataError
from nerwin.files import atomic_write_text
from nerwin.metrics import score
from nerwin.optim import OPTIMIZERS
from nerwin.schedules import make_schedule
from nerwin.tagger import MODEL_FILE, Tagger


@dataclass
class Run:
    """What a training run leaves: its folder, per-epoch history and the best model."""

    path: Path
    history: pd.DataFrame
    best_epoch: int
    best_f1: float
    tagger: Tagger


def evaluate(tagger: Tagger, corpus: Corpus) -> dict:
    """Entity-level scores of a tagger on a gold corpus (tags compared in its own scheme)."""
    return score(corpus.tags, tagger.tag(corpus), corpus.first)


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


def train(config: dict, out=None, quiet: bool = False, log=None) -> Run:
    """Train a tagger as ``config`` says; write the run folder ``out``; return the :class:`Run`.

    Every epoch is one pass over the shuffled training windows in minibatches, then an
    evaluation on dev; the model with the best dev F1 is saved as ``out/model.npz``.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    say = (lambda msg: None) if quiet else log
    t = config["train"]
    rng = np.random.default_rng(t["seed"])

    train_c, dev_c = load_corpora(config)
    pretrained = load_pretrained(config["embeddings"]["source"])
    tagger = Tagger.create(config, train_c, pretrained, rng)
    net, labels = tagger.network, tagger.labels
    X = tagger.featurize(train_c.words, train_c.lengths)
    spans, _ = train_c.spans(labels.types)
    y = labels.encode(spans, train_c.n_tokens)

    out = Path(out) if out else default_run_dir(None)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{out}: cannot create the run folder: {e.strerror}") from None
    atomic_write_text(out / "config.toml", cfg.dumps(config))

    optimizer = make_optimizer(config)
    n, batch = len(y), t["batch_size"]
    n_batches = -(-n // batch)
    sched = config["schedule"]
    per_step = sched["per"] == "step"
    total = t["epochs"] * (n_batches if per_step else 1)
    schedule = make_schedule(sched["name"], config["optimizer"]["lr"], sched["warmup"], decay=sched["decay"],
                             every=sched["every"], min_lr=sched["min_lr"], total=total)
    emb_lr = config["embeddings"]["lr"]
    say(f"training on {train_c.path}: {len(train_c)} sentences, {n} windows, {len(tagger.vocab)} words, "
        f"tags {' '.join(labels.types)} ({train_c.scheme} read, {labels.scheme} inside)")

    history, best_f1, best_epoch, stale, step = [], -1.0, 0, 0, 0
    show_bar = not quiet and sys.stderr.isatty()
    for epoch in range(1, t["epochs"] + 1):
        start = time.perf_counter()
        order = rng.permutation(n)
        total_loss = 0.0
        with tqdm(total=n_batches, desc=f"epoch {epoch}", unit="batch", disable=not show_bar, leave=False) as bar:
            for b in range(n_batches):
                lr = schedule(step if per_step else epoch - 1)
                idx = order[b * batch:(b + 1) * batch]
                loss, grads = net.loss_and_grads(X.words[idx], X.casing[idx], y[idx], rng)
                if not np.isfinite(loss):
                    raise DataError(
                        f"training diverged: loss is {loss} at epoch {epoch}, batch {b + 1}, learning rate {lr:g}; "
                        f"the last good model is in {out}"
                    )
                optimizer.step(net.params, net.updates(grads), lr, {"E": emb_lr * lr / config["optimizer"]["lr"]} if emb_lr else None)
                total_loss += loss * len(idx)
                step += 1
                bar.update()
        train_time = time.perf_counter() - start
        result = evaluate(tagger, dev_c)
        row = {
            "epoch": epoch, "loss": total_loss / n, "dev_precision": result["precision"],
            "dev_recall": result["recall"], "dev_f1": result["f1"], "dev_accuracy": result["token_accuracy"],
            "lr": lr, "seconds": time.perf_counter() - start, "windows_per_s": n / train_time,
        }
        history.append(row)
        improved = result["f1"] > best_f1
        if improved:
            best_f1, best_epoch, stale = result["f1"], epoch, 0
            tagger.save(out / MODEL_FILE)
        else:
            stale += 1
        atomic_write_text(out / "metrics.csv", pd.DataFrame(history).to_csv(index=False, float_format="%.4f"))
        say(f"epoch {epoch:3d}  loss {row['loss']:.4f}  dev P {row['dev_precision']:.2f} R {row['dev_recall']:.2f} "
            f"F1 {row['dev_f1']:.2f}  lr {lr:.2g}  {row['seconds']:.1f}s{'  *' if improved else ''}")
        if t["patience"] and stale >= t["patience"]:
            say(f"early stop: no dev F1 gain in {stale} epochs")
            break
    say(f"best dev F1 {best_f1:.2f} at epoch {best_epoch}; model in {out / MODEL_FILE}")
    best = Tagger.load(out / MODEL_FILE)
    return Run(out, pd.DataFrame(history), best_epoch, best_f1, best)
