"""Run reports: one Markdown page and a few PNG plots for a run folder (``nerwin report``).

``report.md`` gives the settings that differ from the defaults, the best dev F1 and its
epoch, the per-epoch table of ``metrics.csv``, the learning rate of every update, and the
saved model's scores per entity type on dev. The plots (training loss and dev F1 per
epoch, learning rate per step, dev F1 per type) need matplotlib, an optional extra
(``pip install 'nerwin[plot]'``); without it the Markdown report alone is written.

The learning rate is read from ``lr.csv``, where the trainer records the rate of every
update; for runs trained before it did, each epoch's rate from ``metrics.csv`` is shown
instead, with a note. Every file is written atomically.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nerwin import config as cfg
from nerwin.errors import DataError, NerwinError
from nerwin.files import atomic_write, atomic_write_text
from nerwin.runs import read_run
from nerwin.tables import markdown_table, report, to_markdown
from nerwin.train import RATES

REPORT = "report.md"
DPI = 100
# name → (file, figure size in inches); a PNG is figsize × DPI pixels
PLOTS = {
    "curves": ("report-curves.png", (10.0, 4.0)),
    "lr": ("report-lr.png", (8.0, 3.5)),
    "types": ("report-types.png", (8.0, 3.5)),
}
PLOT_HINT = "plots need matplotlib: pip install 'nerwin[plot]'"

# how each metrics.csv column is shown in the per-epoch table
_EPOCH_FORMATS = {
    "epoch": "{:.0f}", "loss": "{:.4f}", "dev_precision": "{:.2f}", "dev_recall": "{:.2f}",
    "dev_f1": "{:.2f}", "dev_accuracy": "{:.2f}", "lr": "{:.4g}", "seconds": "{:.1f}",
    "windows_per_s": "{:.0f}",
}


# ---------------------------------------------------------------- what the report shows


def key_settings(config: dict) -> list[tuple[str, object, object]]:
    """``(section.key, value, default)`` for every config key whose value differs from
    :data:`nerwin.config.DEFAULTS`, in the config's order."""
    return [(f"{s}.{k}", v, cfg.DEFAULTS[s][k]) for s, keys in config.items() for k, v in keys.items()
            if v != cfg.DEFAULTS[s][k]]


@dataclass
class Rates:
    """The learning rate a run was trained with, as the trainer recorded it.

    ``frame`` has columns ``step`` (0-based update), ``epoch`` (1-based) and ``lr``, read
    from the run's ``lr.csv`` (``unit`` "step"); for a run without a readable ``lr.csv``
    (one trained before nerwin wrote it), ``epoch`` and ``lr`` from ``metrics.csv``, the
    rate of each epoch's last update (``unit`` "epoch"), and ``notes`` say so."""

    frame: pd.DataFrame
    unit: str
    notes: list = field(default_factory=list)

    @property
    def batches_per_epoch(self) -> int | None:
        return int(self.frame["epoch"].value_counts().max()) if self.unit == "step" and len(self.frame) else None


def read_rates(run: Path, history: pd.DataFrame) -> Rates:
    """The run's learning rate per update from ``lr.csv``, else per epoch from ``history``."""
    try:
        frame = pd.read_csv(run / RATES)
        if list(frame.columns) == ["step", "epoch", "lr"] and all(map(pd.api.types.is_numeric_dtype, frame.dtypes)):
            return Rates(frame, "step")
        problem = "does not hold the numeric columns step, epoch and lr"
    except FileNotFoundError:
        problem = "is missing (runs trained before nerwin recorded every update's rate have none)"
    except ValueError:  # pandas' parser errors and undecodable bytes among them
        problem = "is not readable"
    frame = history[["epoch", "lr"]].dropna() if "lr" in history else pd.DataFrame(columns=["epoch", "lr"])
    return Rates(frame.reset_index(drop=True), "epoch",
                 [f"{run / RATES} {problem}: the learning rate is shown per epoch, as metrics.csv recorded it "
                  "(the rate of each epoch's last update), not per step"])


def dev_scores(run: Path, config: dict) -> dict:
    """The run's saved model scored on the config's dev file (:func:`nerwin.evaluate.evaluate`);
    DataError when the model or the file cannot be read."""
    from nerwin.data import read_conll
    from nerwin.tagger import Tagger
    from nerwin.evaluate import evaluate

    dev_path = cfg.resolve_path(config, "data.dev")
    dev = read_conll(dev_path, encoding=config["data"]["encoding"])
    return {"data": str(dev_path), **evaluate(Tagger.load(run), dev)}


# ---------------------------------------------------------------- Markdown


def _show(value) -> str:
    """A config value as TOML writes it (strings quoted, floats shortest)."""
    if isinstance(value, float):
        return f"{value:g}"
    return cfg.dumps({"x": {"v": value}}).splitlines()[1][4:]


def epoch_table(history: pd.DataFrame) -> str:
    """metrics.csv as a Markdown table: every column, numbers right-aligned, ``-`` where a
    value is missing (dev columns of epochs without evaluation)."""
    def cell(column, v):
        if pd.isna(v):
            return "-"
        return _EPOCH_FORMATS.get(column, "{:.4g}").format(v) if isinstance(v, (int, float, np.number)) else str(v)
    columns = list(history.columns)
    rows = [[cell(c, v) for c, v in zip(columns, row)] for row in history.itertuples(index=False)]
    right = {i for i, c in enumerate(columns) if pd.api.types.is_numeric_dtype(history[c])}
    return markdown_table(columns, rows, right)


def types_table(result: dict) -> str:
    """Per-type precision, recall, F1 and counts, then the overall (micro) and macro lines."""
    return to_markdown(report(result, macro=True))


def _rates_text(rates: Rates, config: dict) -> str:
    s = config["schedule"]
    what = f"schedule `{s['name']}` per {s['per']}, from optimizer.lr {config['optimizer']['lr']:g}"
    if s["warmup"]:
        what += f", with {s['warmup']} warm-up {s['per']}s"
    if rates.unit == "step":
        how = (f"batch {config['train']['batch_size']}, {rates.batches_per_epoch} batches per epoch; "
               f"{len(rates.frame)} steps over {rates.frame['epoch'].max()} epochs, as recorded in {RATES}")
    else:
        how = f"shown per epoch, {len(rates.frame)} epochs"
    lr = rates.frame["lr"]
    values = (f"First {lr.iloc[0]:.4g}, highest {lr.max():.4g}, last {lr.iloc[-1]:.4g}." if len(lr)
              else "No rates recorded.")
    return f"Learning rate: {what}; {how}. {values}"


# ---------------------------------------------------------------- plots


def _figure_class():
    """matplotlib's Figure (no pyplot, no global backend), or None when not installed."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def plot_curves(Figure, history: pd.DataFrame, best_epoch: int) -> bytes:
    """Training loss (left) and dev F1 (right) per epoch; the best epoch marked."""
    fig = Figure(figsize=PLOTS["curves"][1], dpi=DPI)
    loss_ax, f1_ax = fig.subplots(1, 2)
    loss_ax.plot(history["epoch"], history["loss"], marker="o", color="tab:blue")
    loss_ax.set(title="training loss", xlabel="epoch", ylabel="mean loss per window")
    scored = history.dropna(subset=["dev_f1"])
    f1_ax.plot(scored["epoch"], scored["dev_f1"], marker="o", color="tab:green")
    best = scored[scored["epoch"] == best_epoch]
    if len(best):
        f1_ax.plot(best["epoch"], best["dev_f1"], marker="*", markersize=14, color="tab:red", linestyle="none",
                   label=f"best: {best['dev_f1'].iloc[0]:.2f} (epoch {best_epoch})")
        f1_ax.legend(loc="lower right")
    f1_ax.set(title="dev entity F1", xlabel="epoch", ylabel="F1 (%)")
    for ax in (loss_ax, f1_ax):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    return _png(fig)


def plot_rates(Figure, rates: Rates, per: str) -> bytes:
    """The learning rate per step (or per epoch in the fallback); ``per`` is the schedule's."""
    fig = Figure(figsize=PLOTS["lr"][1], dpi=DPI)
    ax = fig.subplots()
    frame = rates.frame
    if rates.unit == "step":
        ax.plot(frame["step"], frame["lr"], color="tab:purple", drawstyle="steps-post")
        ax.set_xlabel(f"step ({rates.batches_per_epoch} per epoch)")
    else:
        ax.plot(frame["epoch"], frame["lr"], color="tab:purple", marker="o")
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set(title=f"learning rate (schedule per {per})", ylabel="learning rate")
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def plot_types(Figure, result: dict) -> bytes:
    """Dev F1 per entity type as bars, the micro (overall) and macro F1 as lines."""
    fig = Figure(figsize=PLOTS["types"][1], dpi=DPI)
    ax = fig.subplots()
    types = list(result["per_type"])
    f1 = [result["per_type"][t]["f1"] for t in types]
    bars = ax.bar(types, f1, color="tab:blue")
    ax.bar_label(bars, labels=[f"{v:.1f}" for v in f1], padding=2)
    ax.axhline(result["f1"], color="tab:red", linestyle="--", label=f"overall (micro) {result['f1']:.2f}")
    ax.axhline(result["macro"]["f1"], color="tab:gray", linestyle=":", label=f"macro {result['macro']['f1']:.2f}")
    ax.set(title="dev F1 per entity type", ylabel="F1 (%)", ylim=(0, 110))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")  # beside the bars, never on them
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


# ---------------------------------------------------------------- the report


def write_report(run, out=None, plots: bool = True) -> dict:
    """Write ``report.md`` (and the PNG plots, when matplotlib is installed and ``plots``)
    into ``out`` (default: the run folder).

    Returns ``report`` (its path), ``plots`` (paths written), ``hint`` (:data:`PLOT_HINT`
    when plots were asked for but matplotlib is missing, else None), ``notes`` (what was
    left out and why), ``best_f1``, ``best_epoch``, ``rates`` (:class:`Rates`) and ``dev``
    (the dev scores, or None)."""
    run = Path(run)
    summary = read_run(run)  # DataError when this is not a run folder
    config = cfg.loads((run / "config.toml").read_text(encoding="utf-8"), str(run / "config.toml"))
    history = pd.read_csv(run / "metrics.csv")
    out = Path(out) if out is not None else run
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{out}: cannot create the report folder: {e.strerror}") from None

    rates = read_rates(run, history)
    notes = list(rates.notes)
    try:
        dev = dev_scores(run, config)
    except NerwinError as e:
        dev = None
        notes.append(f"dev scores per type are left out: {e}")

    Figure = _figure_class() if plots else None
    if plots and Figure is None:
        notes.append(f"no plots: {PLOT_HINT}")
    images = {}
    if Figure is not None:
        if len(history):
            images["curves"] = plot_curves(Figure, history, summary["best_epoch"])
        if len(rates.frame):
            images["lr"] = plot_rates(Figure, rates, config["schedule"]["per"])
        if dev is not None and dev["per_type"]:
            images["types"] = plot_types(Figure, dev)
    link = lambda name, alt: [f"![{alt}]({PLOTS[name][0]})", ""] if name in images else []

    best = (f"Best dev F1: **{summary['best_dev_f1']:.2f}** at epoch {summary['best_epoch']} "
            if summary["best_epoch"] else "Best dev F1: none (no epoch was evaluated on dev) ")
    lines = [f"# Run report: {run}", "",
             "## Settings", ""]
    differing = key_settings(config)
    if differing:
        lines += ["Config keys that differ from the defaults (`nerwin config show` lists them all):", "",
                  markdown_table(["key", "value", "default"], [(k, _show(v), _show(d)) for k, v, d in differing]), ""]
    else:
        lines += ["Every config key has its default value.", ""]
    lines += ["## Result", "",
              best + f"({summary['epochs']} of {config['train']['epochs']} epochs run, "
                     f"{summary['minutes']:.2f} minutes).", "",
              "## Per epoch", "",
              epoch_table(history) if len(history) else "(no epoch finished)", "",
              *link("curves", "training loss and dev F1 per epoch"),
              "## Learning rate", "",
              _rates_text(rates, config), "",
              *link("lr", "learning rate per step" if rates.unit == "step" else "learning rate per epoch"),
              "## Dev scores per type", ""]
    if dev is not None:
        lines += [f"The saved model (best epoch {summary['best_epoch']}) on {dev['data']}: "
                  f"{dev['tokens']} tokens, {dev['gold_entities']} gold entities; scheme {dev['scheme']}, "
                  f"mode {dev['mode']}; token accuracy {dev['token_accuracy']:.2f}%.", "",
                  types_table(dev), "",
                  *link("types", "dev F1 per entity type")]
    else:
        lines += ["Not scored (see the notes).", ""]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]

    written = []
    for name, data in images.items():
        atomic_write(out / PLOTS[name][0], data)
        written.append(out / PLOTS[name][0])
    atomic_write_text(out / REPORT, "\n".join(lines).rstrip("\n") + "\n")
    return {"report": out / REPORT, "plots": written, "hint": PLOT_HINT if plots and Figure is None else None,
            "notes": notes, "best_f1": summary["best_dev_f1"], "best_epoch": summary["best_epoch"],
            "rates": rates, "dev": dev}
