"""Run folders side by side: the config keys that differ, best dev F1, epochs and time.

:func:`read_run` summarises one run folder, :func:`compare` sets runs side by side on the
keys where they differ, :func:`list_runs` lists every run under a folder with a few key
settings and when it was written (``nerwin runs``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from nerwin import config as cfg
from nerwin.errors import DataError, NerwinError


def read_run(path) -> dict:
    """One run's flattened config (``section.key`` → value) and its history summary."""
    path = Path(path)
    try:
        config = cfg.loads((path / "config.toml").read_text(encoding="utf-8"), str(path / "config.toml"))
        history = pd.read_csv(path / "metrics.csv")
    except FileNotFoundError as e:
        raise DataError(f"{path}: not a run folder (no {Path(e.filename).name})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        raise DataError(f"{path}: metrics.csv is not readable") from None
    show = lambda v: f"{v:g}" if isinstance(v, float) else str(v)   # config values as written
    flat = {f"{s}.{k}": show(v) for s, keys in config.items() for k, v in keys.items()}
    if not {"epoch", "dev_f1", "seconds"} <= set(history.columns):
        raise DataError(f"{path}: metrics.csv lacks the columns epoch, dev_f1 and seconds")
    scored = history.dropna(subset=["dev_f1"])  # epochs without evaluation have no dev F1
    best = scored.loc[scored["dev_f1"].idxmax()] if len(scored) else None
    return {
        "config": flat,
        "best_dev_f1": float(best["dev_f1"]) if best is not None else float("nan"),
        "best_epoch": int(best["epoch"]) if best is not None else 0,
        "epochs": int(len(history)),
        "minutes": float(history["seconds"].sum() / 60) if len(history) else 0.0,
        "written": datetime.fromtimestamp((path / "metrics.csv").stat().st_mtime),
    }


def compare(paths) -> pd.DataFrame:
    """A table with one row per run: the config keys whose values differ between the runs,
    then best dev F1, its epoch, epochs run and minutes."""
    runs = {str(p): read_run(p) for p in paths}
    configs = pd.DataFrame({name: r["config"] for name, r in runs.items()}).T
    differing = [c for c in configs.columns if configs[c].nunique() > 1]
    table = configs[differing].copy()
    for key in ("best_dev_f1", "best_epoch", "epochs", "minutes"):
        table[key] = [r[key] for r in runs.values()]
    table.index.name = "run"
    return table


def to_text(table: pd.DataFrame) -> str:
    """A table of runs as aligned text: the run folders down the left under a ``run`` header
    (on the columns' line, not a line of its own), numbers to two decimals."""
    width = max(len(table.index.name or ""), *map(len, table.index))
    text = table.rename(index=lambda run: run.ljust(width)).to_string(
        float_format=lambda v: f"{v:.2f}", index_names=False)
    header, _, rows = text.partition("\n")
    return f"{(table.index.name or '').ljust(width)}{header[width:]}\n{rows}"


def find_runs(root) -> list[Path]:
    """Run folders (holding config.toml and metrics.csv) under ``root``, sorted."""
    root = Path(root)
    return sorted(p.parent for p in root.glob("**/metrics.csv") if (p.parent / "config.toml").is_file())


# (column, config keys) of the settings ``nerwin runs`` shows; several keys join with "/"
LISTED = (
    ("activation", ("model.activation",)),
    ("hidden", ("model.hidden",)),
    ("optimizer", ("optimizer.name",)),
    ("lr", ("optimizer.lr",)),
    ("finetune", ("embeddings.finetune",)),
    ("dropout", ("regularization.dropout_input", "regularization.dropout_hidden")),
)


def list_runs(root, warn=None) -> pd.DataFrame:
    """Every run under ``root`` (``root`` itself may be one), oldest first: a few key settings
    (activation, hidden sizes, optimizer, learning rate, fine-tuning, input/hidden dropout),
    best dev F1, its epoch, epochs run, minutes, and when metrics.csv was last written.

    A folder that cannot be read is left out and named to ``warn`` (a callable taking one
    message), if given. Raises :class:`DataError` when no run is found."""
    root = Path(root)
    rows = {}
    for folder in find_runs(root):
        try:
            run = read_run(folder)
        except (NerwinError, OSError) as e:  # unreadable metrics.csv, invalid config.toml
            if warn:
                warn(f"skipped {folder}: {e}")
            continue
        config = run["config"]
        settings = {column: "/".join(config[k] for k in keys) for column, keys in LISTED}
        settings["hidden"] = "-".join(config["model.hidden"].strip("[]").replace(" ", "").split(","))
        rows[str(folder)] = {**settings, **{k: run[k] for k in ("best_dev_f1", "best_epoch", "epochs", "minutes")},
                             "written": pd.Timestamp(run["written"]).floor("s")}
    if not rows:
        where = "does not exist" if not root.exists() else "holds no run folders (config.toml and metrics.csv)"
        raise DataError(f"{root}: no runs found: the folder {where}")
    table = pd.DataFrame.from_dict(rows, orient="index").sort_values("written", kind="stable")
    table.index.name = "run"
    return table
