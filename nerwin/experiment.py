"""The TV / telly / television case: when fine-tuning word vectors helps and when it hurts.

For each fraction of the training sentences (a seeded subset) and each seed, three taggers
are trained with word vectors frozen (``none``), fine-tuned (``all``) and fine-tuned only for
words seen in training (``seen``), and evaluated on dev: entity F1 overall, and token
accuracy on the **unseen-word slice** — entity tokens whose word never occurs in the
training subset but has a pretrained vector (the "television" words, which keep their
pretrained vector while fine-tuning moves their neighbours). The drift of chosen word pairs
(cosine before and after fine-tuning) and the nearest neighbours show why.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from nerwin import config as cfg
from nerwin.data import Corpus, read_conll
from nerwin.embeddings import Pretrained, load_pretrained
from nerwin.evaluate import evaluate
from nerwin.files import atomic_write, atomic_write_text
from nerwin.tagger import Tagger
from nerwin.tables import markdown_table
from nerwin.train import train

MODES = ("none", "all", "seen")
PAIRS = (("tv", "television"), ("telly", "television"))
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample"


def find_split(folder: Path, names) -> Path:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    from nerwin.errors import DataError
    raise DataError(f"{folder}: no {' or '.join(names)} found (expected a CoNLL training and dev file)")


def subset(corpus: Corpus, fraction: float, seed: int) -> Corpus:
    """A seeded random subset holding ``fraction`` of the sentences (at least one)."""
    n = max(1, math.ceil(fraction * len(corpus)))
    order = np.random.default_rng(seed).permutation(len(corpus))
    return corpus.subset(np.sort(order[:n]))


def unseen_slice(train_c: Corpus, dev_c: Corpus, tagger: Tagger, pretrained: Pretrained) -> np.ndarray:
    """Mask of dev entity tokens whose lookup key never occurs in training but has a vector."""
    keys = tagger.vocab.keys(dev_c.words)
    seen = pd.Index(np.unique(tagger.vocab.keys(train_c.words)))
    in_train = seen.get_indexer(keys) >= 0
    has_vector = pretrained.lookup(keys) >= 0
    return (dev_c.tags != "O") & ~in_train & has_vector


def _unit(a: np.ndarray) -> np.ndarray:
    return a / (np.linalg.norm(a, axis=-1, keepdims=True) + 1e-12)


def _nearest(table: np.ndarray, i: int, k: int, allowed=None) -> np.ndarray:
    sims = table @ table[i]
    sims[i] = -np.inf
    if allowed is not None:
        sims[~allowed] = -np.inf
    top = np.argpartition(-sims, k)[:k]
    return top[np.argsort(-sims[top])]


def drift(tagger: Tagger, pretrained: Pretrained, pairs=PAIRS, top: int = 3, k: int = 5) -> pd.DataFrame:
    """How fine-tuning moved word vectors, over the whole pretrained vocabulary.

    Before: the pretrained vectors. After: training words carry their trained vectors, every
    other word keeps its pretrained one. For each pair (the given ones, and each of the
    ``top`` most-moved training words paired with its nearest pretrained neighbour that never
    occurs in training — its "television"): cosine before and after, and the first word's
    nearest neighbours before and after.
    """
    before = _unit(np.asarray(pretrained.vectors, np.float32))
    rows = pretrained.lookup(tagger.vocab.words)
    trained_rows = rows[rows >= 0]
    trained = _unit(tagger.network.params["E"][rows >= 0].astype(np.float32))
    after = before.copy()
    after[trained_rows] = trained
    untrained = np.ones(len(before), bool)
    untrained[trained_rows] = False
    moved = 1 - np.sum(before[trained_rows] * trained, axis=1)
    names = pretrained.words
    chosen = [tuple(pretrained.lookup(list(p))) for p in pairs]
    for j in np.argsort(-moved)[:top]:
        w = trained_rows[j]
        chosen.append((w, _nearest(before, w, 1, untrained)[0]))
    records = []
    for a, b in chosen:
        if a < 0 or b < 0:
            continue
        records.append({
            "pair": f"{names[a]} / {names[b]}",
            "trained": " ".join(names[x] for x in (a, b) if not untrained[x]) or "-",
            "cosine_before": float(before[a] @ before[b]), "cosine_after": float(after[a] @ after[b]),
            "neighbours before": " ".join(names[_nearest(before, a, k)]),
            "neighbours after": " ".join(names[_nearest(after, a, k)]),
        })
    return pd.DataFrame(records)


def markdown(frame: pd.DataFrame, floatfmt: str = "{:.2f}") -> str:
    """A pandas table as Markdown, floats as ``floatfmt`` writes them."""
    cells = [[floatfmt.format(v) if isinstance(v, float) else str(v) for v in row] for row in frame.itertuples(index=False)]
    return markdown_table(list(frame.columns), cells) + "\n"


def run(data_dir=None, fractions=(0.01, 0.05, 0.2, 1.0), seeds: int = 1, out="runs/finetune",
        config_path=None, overrides=(), min_steps: int = 1500, quiet: bool = True, log=print,
        client=None) -> dict:
    """Train and evaluate every (fraction, seed, mode); write the tables and the plot in ``out``.

    With a Dask ``client`` the models are trained as tasks on its cluster (the corpora sent to
    each worker once), each the same model, bit for bit, as trained here."""
    folder = Path(data_dir) if data_dir else SAMPLE_DIR
    train_file = find_split(folder, ("eng.train", "train.conll"))
    dev_file = find_split(folder, ("eng.testa", "dev.conll"))
    default = "conll2003.toml" if train_file.name == "eng.train" else "default.toml"
    base = cfg.load(config_path or Path(__file__).resolve().parent.parent / "configs" / default, overrides)
    full, dev = read_conll(train_file, encoding=base["data"]["encoding"]), read_conll(dev_file, encoding=base["data"]["encoding"])
    pretrained = load_pretrained(base["embeddings"]["source"])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    cells = []   # (fraction, seed, mode, epochs, config, run folder)
    for fraction in fractions:
        for seed in range(1, seeds + 1):
            batches = math.ceil(subset(full, fraction, seed).n_tokens / base["train"]["batch_size"])
            epochs = min(max(base["train"]["epochs"], math.ceil(min_steps / batches)), 400)
            for mode in MODES:
                config = cfg.loads(cfg.dumps(base))
                config["embeddings"]["finetune"] = mode
                config["train"].update(seed=seed, epochs=epochs, eval_every=max(1, epochs // 10), patience=0)
                cells.append((fraction, seed, mode, epochs, cfg.dumps(config), str(out / "runs" / f"f{fraction:g}-s{seed}-{mode}")))
    tasks = [(text, folder_, fraction, seed) for fraction, seed, _, _, text, folder_ in cells]
    if client is None:
        trained = (train_subset(text, folder_, fraction, seed, full, dev, quiet) for text, folder_, fraction, seed in tasks)
    else:
        full_, dev_ = client.scatter([full, dev], broadcast=True)
        trained = client.gather(client.map(train_subset, *zip(*tasks), full=full_, dev=dev_, pure=False))

    results, drifts = [], []
    for (fraction, seed, mode, epochs, _, _), folder_ in zip(cells, trained):
        part, tagger = subset(full, fraction, seed), Tagger.load(folder_)
        sliced = unseen_slice(part, dev, tagger, pretrained)
        predicted = tagger.tag(dev)
        results.append({
            "fraction": fraction, "seed": seed, "mode": mode, "train_sentences": len(part),
            "epochs": epochs, "dev_f1": evaluate(tagger, dev)["f1"],
            "unseen_tokens": int(sliced.sum()),
            "unseen_accuracy": 100.0 * float(np.mean(predicted[sliced] == dev.tags[sliced])) if sliced.any() else float("nan"),
        })
        log(f"{Path(folder_).name}: dev F1 {results[-1]['dev_f1']:.2f}, unseen-word accuracy {results[-1]['unseen_accuracy']:.2f} "
            f"on {results[-1]['unseen_tokens']} tokens ({len(part)} sentences, {epochs} epochs)")
        if mode == "all":
            d = drift(tagger, pretrained)
            d.insert(0, "fraction", fraction)
            d.insert(1, "seed", seed)
            drifts.append(d)

    table = pd.DataFrame(results)
    summary = (table.groupby(["fraction", "mode"], sort=True)
               .agg(train_sentences=("train_sentences", "first"), dev_f1=("dev_f1", "mean"),
                    dev_f1_sd=("dev_f1", "std"), unseen_accuracy=("unseen_accuracy", "mean"),
                    unseen_tokens=("unseen_tokens", "mean"), seeds=("seed", "count"))
               .reset_index())
    drift_table = pd.concat(drifts, ignore_index=True) if drifts else pd.DataFrame()
    atomic_write_text(out / "results.csv", table.to_csv(index=False, float_format="%.4f"))
    atomic_write_text(out / "summary.csv", summary.to_csv(index=False, float_format="%.4f"))
    atomic_write_text(out / "drift.csv", drift_table.to_csv(index=False, float_format="%.4f"))
    atomic_write_text(out / "summary.md", "## Dev F1 and unseen-word accuracy\n\n" + markdown(summary)
                      + "\n## Drift of word vectors under fine-tuning\n\n" + markdown(drift_table, "{:.3f}"))
    plot = plot_summary(summary, out / "finetune.png")
    return {"table": table, "summary": summary, "drift": drift_table, "plot": plot, "out": out}


def train_subset(config_text: str, out: str, fraction: float, seed: int, full: Corpus, dev: Corpus,
                 quiet: bool = True) -> str:
    """Train one cell of the experiment on its seeded subset of ``full``; its run folder."""
    # a rerun of the experiment replaces its runs, as it replaces its tables
    train(cfg.loads(config_text), out, quiet=quiet, overwrite=True, corpora=(subset(full, fraction, seed), dev))
    return out


def plot_summary(summary: pd.DataFrame, path: Path):
    """F1 against training fraction per mode, the unseen-word slice beside it (PNG); None
    and a hint when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for mode, group in summary.groupby("mode"):
        axes[0].plot(group["fraction"], group["dev_f1"], marker="o", label=mode)
        axes[1].plot(group["fraction"], group["unseen_accuracy"], marker="o", label=mode)
    fractions = sorted(summary["fraction"].unique())
    for ax, title in zip(axes, ("dev entity F1", "unseen-word token accuracy")):
        ax.set_xscale("log")
        ax.set_xticks(fractions, [f"{f:g}" for f in fractions])
        ax.minorticks_off()
        ax.set_xlabel("fraction of training sentences")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(title="fine-tune")
    fig.tight_layout()
    import io
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    atomic_write(path, buffer.getvalue())
    return path
