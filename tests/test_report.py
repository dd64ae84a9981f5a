"""Run reports (``nerwin report``) and run listings (``nerwin runs``), end to end."""

import math
import re
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from nerwin.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# the pixel sizes nerwin.report draws at: figsize (inches) × 100 dpi
PNG_SIZES = {"report-curves.png": (1000, 400), "report-lr.png": (800, 350), "report-types.png": (800, 350)}
SECTIONS = ["# Run report", "## Settings", "## Result", "## Per epoch", "## Learning rate", "## Dev scores per type"]


def _train(out, *overrides):
    from nerwin import config as cfg
    from nerwin.train import train

    config = cfg.load(None, ["train.epochs=3", "model.hidden=[20]", f'data.train="{SAMPLE / "train.conll"}"',
                             f'data.dev="{SAMPLE / "dev.conll"}"', *overrides])
    train(config, out, quiet=True)
    return out


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory):
    """Two tiny runs: ``plain`` (constant rate, dev every epoch) and ``cosine`` (warm-up
    cosine per step, dev every second epoch so epoch 1 has no dev figures)."""
    root = tmp_path_factory.mktemp("report-runs")
    _train(root / "plain")
    _train(root / "cosine", 'schedule.name="cosine"', 'schedule.per="step"', "schedule.warmup=5",
           "train.eval_every=2", "train.batch_size=128")
    return root


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _report(run, out):
    result = _invoke("report", run, "--out", out)
    assert result.exit_code == 0, result.output
    return (out / "report.md").read_text(encoding="utf-8")


def _section(text, title):
    """The lines of a ``## title`` section up to the next ``##``."""
    body = text.split(f"## {title}\n", 1)[1]
    return body.split("\n## ", 1)[0]


def _table(section):
    """The first Markdown table of a section as a list of rows of cells (header first)."""
    rows = [line for line in section.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    return [cells[0]] + cells[2:]  # skip the alignment row


def _png_size(data: bytes):
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# ---------------------------------------------------------------- nerwin report


def test_report_has_the_sections_and_the_numbers_of_metrics_csv(runs_root, tmp_path):
    run = runs_root / "plain"
    text = _report(run, tmp_path)
    for title in SECTIONS:
        assert title in text
    assert not (run / "report.md").exists()  # --out writes elsewhere

    settings = {row[0]: row[1] for row in _table(_section(text, "Settings"))[1:]}
    assert settings["model.hidden"] == "[20]" and settings["train.epochs"] == "3"
    assert "optimizer.name" not in settings  # a default is not a key setting

    history = pd.read_csv(run / "metrics.csv")
    best = history.loc[history["dev_f1"].idxmax()]
    assert f"Best dev F1: **{best['dev_f1']:.2f}** at epoch {int(best['epoch'])} " in text

    table = _table(_section(text, "Per epoch"))
    assert table[0] == list(history.columns)
    assert len(table) - 1 == len(history) == 3
    decimals = {"loss": 4, "dev_precision": 2, "dev_recall": 2, "dev_f1": 2, "dev_accuracy": 2, "seconds": 1,
                "windows_per_s": 0, "epoch": 0}
    for row, (_, expected) in zip(table[1:], history.iterrows()):
        for column, cell in zip(table[0], row):
            if column in decimals:
                assert float(cell) == pytest.approx(expected[column], abs=0.51 * 10 ** -decimals[column]), column
            else:  # lr, shown to 4 significant digits
                assert float(cell) == pytest.approx(expected[column], rel=1e-3, abs=1e-12), column

    types = {row[0]: row for row in _table(_section(text, "Dev scores per type"))}
    assert types["type"][:4] == ["type", "precision", "recall", "f1"]
    # the saved model is the best epoch's, scored on the same dev file
    assert float(types["overall"][3]) == pytest.approx(best["dev_f1"], abs=0.006)
    assert {"LOC", "PER", "ORG", "MISC"} <= set(types)

    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (tmp_path / image).is_file()
    assert sorted(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)) == sorted(PNG_SIZES)


def test_report_defaults_to_the_run_folder_and_lists_what_it_wrote(runs_root, tmp_path):
    run = shutil.copytree(runs_root / "plain", tmp_path / "copy")
    result = _invoke("report", run)
    assert result.exit_code == 0, result.output
    written = [Path(line) for line in result.stdout.splitlines()]
    assert written[0] == run / "report.md"
    assert sorted(p.name for p in written[1:]) == sorted(PNG_SIZES)
    assert all(p.is_file() for p in written)
    assert result.stderr == ""


def test_plots_are_valid_pngs_of_the_expected_size(runs_root, tmp_path):
    import matplotlib.image

    _report(runs_root / "cosine", tmp_path)
    for name, (width, height) in PNG_SIZES.items():
        data = (tmp_path / name).read_bytes()
        assert _png_size(data) == (width, height), name
        pixels = matplotlib.image.imread(tmp_path / name)
        assert pixels.shape[:2] == (height, width)
        assert pixels.std() > 0  # something was drawn


def test_learning_rate_is_read_per_step_from_lr_csv(runs_root, tmp_path):
    from nerwin.data import read_conll
    from nerwin.report import write_report
    from nerwin.schedules import make_schedule

    run = runs_root / "cosine"
    history = pd.read_csv(run / "metrics.csv")
    result = write_report(run, tmp_path)
    rates = result["rates"]

    n_batches = math.ceil(read_conll(SAMPLE / "train.conll").n_tokens / 128)
    total = 3 * n_batches
    schedule = make_schedule("cosine", 0.001, 5, min_lr=0.0, total=total)
    assert rates.unit == "step" and rates.batches_per_epoch == n_batches
    assert rates.frame["step"].tolist() == list(range(total))
    assert rates.frame["epoch"].tolist() == [e for e in (1, 2, 3) for _ in range(n_batches)]
    assert np.array_equal(rates.frame["lr"].to_numpy(), [schedule(k) for k in range(total)])  # to the last bit
    assert rates.frame["lr"].iloc[0] < rates.frame["lr"].iloc[4]  # warming up
    assert rates.frame["lr"].iloc[-1] < rates.frame["lr"].iloc[n_batches]  # decaying
    # the trainer recorded each epoch's last rate in metrics.csv
    last = rates.frame.groupby("epoch")["lr"].last().to_numpy()
    assert np.allclose(history["lr"].to_numpy(), last, atol=5.1e-5)
    assert rates.notes == []

    section = _section(result["report"].read_text(encoding="utf-8"), "Learning rate")
    assert f"{n_batches} batches per epoch; {total} steps over 3 epochs" in section
    assert "recorded in lr.csv" in section


def test_a_per_epoch_schedule_gives_every_update_of_an_epoch_its_rate(tmp_path):
    from nerwin.report import write_report

    run = _train(tmp_path / "run", 'schedule.name="step"', "schedule.decay=0.5", "train.epochs=2")
    rates = write_report(run)["rates"]
    assert rates.unit == "step" and rates.notes == []
    assert rates.frame.groupby("epoch")["lr"].agg(["min", "max"]).to_numpy().tolist() == [[0.001] * 2, [0.0005] * 2]


def test_epochs_without_dev_figures_show_a_dash(runs_root, tmp_path):
    text = _report(runs_root / "cosine", tmp_path)
    table = _table(_section(text, "Per epoch"))
    f1 = table[0].index("dev_f1")
    assert [row[f1] for row in table[1:]][0] == "-"
    assert all(row[f1] != "-" for row in table[2:])


def _edit_config(run, key, value):
    config = run / "config.toml"
    text = config.read_text(encoding="utf-8")
    new = re.sub(rf'^{key} = ".*"$', f'{key} = "{value}"', text, count=1, flags=re.M)
    assert new != text
    config.write_text(new, encoding="utf-8")


def test_the_rates_need_no_train_file(runs_root, tmp_path):
    from nerwin.report import write_report

    run = shutil.copytree(runs_root / "cosine", tmp_path / "run")
    _edit_config(run, "train", tmp_path / "gone.conll")
    result = write_report(run)
    assert result["rates"].unit == "step" and result["rates"].notes == []
    assert "## Notes" not in result["report"].read_text(encoding="utf-8")


@pytest.mark.parametrize("damage", ["delete", "garble"])
def test_a_run_without_lr_csv_falls_back_to_rates_per_epoch(runs_root, tmp_path, damage):
    from nerwin.report import write_report

    run = shutil.copytree(runs_root / "cosine", tmp_path / "run")
    if damage == "delete":   # as runs trained before the trainer wrote lr.csv
        (run / "lr.csv").unlink()
    else:
        (run / "lr.csv").write_text("step,epoch,lr\n0,1,fast\n", encoding="utf-8")
    result = write_report(run)
    text = result["report"].read_text(encoding="utf-8")
    assert result["rates"].unit == "epoch"
    history = pd.read_csv(run / "metrics.csv")
    assert result["rates"].frame["lr"].tolist() == history["lr"].tolist()
    notes = _section(text, "Notes")
    assert "lr.csv" in notes and "shown per epoch" in notes
    assert ("is missing" if damage == "delete" else "numeric columns") in notes
    assert (run / "report-lr.png").is_file()


def test_a_missing_dev_file_skips_the_per_type_plot(runs_root, tmp_path):
    from nerwin.report import write_report

    run = shutil.copytree(runs_root / "plain", tmp_path / "run")
    _edit_config(run, "dev", tmp_path / "gone.conll")
    result = write_report(run)
    text = result["report"].read_text(encoding="utf-8")
    assert not (run / "report-types.png").exists()
    assert {p.name for p in result["plots"]} == {"report-curves.png", "report-lr.png"}
    assert "dev scores per type are left out" in _section(text, "Notes") and "gone.conll" in text
    assert "report-types.png" not in text


def test_without_matplotlib_only_the_markdown_is_written(runs_root, tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith(("matplotlib.", "mpl_toolkits"))]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError):
        from matplotlib.figure import Figure  # noqa: F401
    result = _invoke("report", runs_root / "plain", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]
    assert result.stderr.strip() == "nerwin: plots need matplotlib: pip install 'nerwin[plot]'"
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "![" not in text
    assert "## Dev scores per type" in text and "| overall |" in text


def test_report_refuses_a_folder_that_is_not_a_run(tmp_path):
    result = _invoke("report", tmp_path)
    assert result.exit_code == 1
    assert result.stderr.startswith("nerwin: error: ") and "not a run folder" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "report.md").exists()


# ---------------------------------------------------------------- nerwin runs


def test_runs_lists_both_runs_with_their_best_f1(runs_root):
    from nerwin.runs import list_runs

    table = list_runs(runs_root)
    assert sorted(table.index) == sorted(str(runs_root / n) for n in ("plain", "cosine"))
    for name in ("plain", "cosine"):
        history = pd.read_csv(runs_root / name / "metrics.csv")
        row = table.loc[str(runs_root / name)]
        assert row["best_dev_f1"] == pytest.approx(history["dev_f1"].max())  # NaN epochs skipped
        assert row["best_epoch"] == int(history.loc[history["dev_f1"].idxmax(), "epoch"])
        assert row["epochs"] == 3 and row["hidden"] == "20" and row["optimizer"] == "adam"
        mtime = (runs_root / name / "metrics.csv").stat().st_mtime
        assert row["written"] == pd.Timestamp.fromtimestamp(mtime).floor("s")

    result = _invoke("runs", runs_root)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "best_dev_f1" in lines[0] and "written" in lines[0]
    assert lines[0].split()[0] == "run" and len(lines) == 3      # no line for pandas' index name
    for name in ("plain", "cosine"):
        line = next(line for line in lines if line.startswith(str(runs_root / name)))
        assert f"{table.loc[str(runs_root / name), 'best_dev_f1']:.2f}" in line.split()


def test_runs_errors_cleanly_on_an_empty_folder(tmp_path):
    result = _invoke("runs", tmp_path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (f"nerwin: error: {tmp_path}: no runs found: "
                             "the folder holds no run folders (config.toml and metrics.csv)\n")
    missing = _invoke("runs", tmp_path / "nowhere")
    assert missing.exit_code == 1 and "does not exist" in missing.stderr


def test_runs_skips_unreadable_runs_and_handles_epochs_without_dev(runs_root, tmp_path):
    from nerwin.runs import list_runs

    good = shutil.copytree(runs_root / "plain", tmp_path / "good")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.toml").write_text("not = [toml", encoding="utf-8")
    (bad / "metrics.csv").write_text("epoch,loss\n1,0.5\n", encoding="utf-8")
    early = shutil.copytree(runs_root / "plain", tmp_path / "early")  # stopped before its first evaluation
    (early / "metrics.csv").write_text(
        "epoch,loss,dev_precision,dev_recall,dev_f1,dev_accuracy,lr,seconds,windows_per_s\n"
        "1,1.2,,,,,0.001,2.0,1000\n", encoding="utf-8")
    warnings = []
    table = list_runs(tmp_path, warn=warnings.append)
    assert sorted(table.index) == [str(early), str(good)]
    assert len(warnings) == 1 and str(bad) in warnings[0]
    assert math.isnan(table.loc[str(early), "best_dev_f1"]) and table.loc[str(early), "best_epoch"] == 0
