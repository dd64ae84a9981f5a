"""Run folders side by side: the config keys that differ, best dev F1, epochs and time."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nerwin import config as cfg
from nerwin.errors import DataError


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
    best = history.loc[history["dev_f1"].idxmax()] if len(history) else None
    return {
        "config": flat,
        "best_dev_f1": float(best["dev_f1"]) if best is not None else float("nan"),
        "best_epoch": int(best["epoch"]) if best is not None else 0,
        "epochs": int(len(history)),
        "minutes": float(history["seconds"].sum() / 60) if len(history) else 0.0,
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


def find_runs(root) -> list[Path]:
    """Run folders (holding config.toml and metrics.csv) under ``root``, sorted."""
    root = Path(root)
    return sorted(p.parent for p in root.glob("**/metrics.csv") if (p.parent / "config.toml").is_file())
