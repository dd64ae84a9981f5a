"""Evaluation results as text: an aligned text table, JSON, CSV or Markdown, each format a
function named in :data:`FORMATS`; and the one Markdown table writer every report uses.

The scores come from :mod:`nerwin.scoring` as plain data; nothing here computes a figure.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

MACRO = "macro avg"
_INTS = ["tp", "fp", "fn", "support"]


def report(result: dict, macro: bool = False) -> pd.DataFrame:
    """The per-type figures and the overall (micro) line as a table; with ``macro`` also a
    ``macro avg`` line (precision, recall and F1 only; its counts are missing values)."""
    rows = {t: v for t, v in result["per_type"].items()}
    rows["overall"] = {
        "precision": result["precision"], "recall": result["recall"], "f1": result["f1"],
        "tp": result["correct_entities"],
        "fp": result["predicted_entities"] - result["correct_entities"],
        "fn": result["gold_entities"] - result["correct_entities"],
        "support": result["gold_entities"],
    }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame = frame[["precision", "recall", "f1", *_INTS]]
    if macro:
        frame[_INTS] = frame[_INTS].astype("Int64")
        frame.loc[MACRO] = {**result["macro"], **{c: pd.NA for c in _INTS}}
    frame.index.name = "type"
    return frame


def summary(result: dict) -> pd.DataFrame:
    """What was scored and how, one ``key, value`` row each (the head of the CSV report)."""
    keys = [k for k in ("data", "scheme", "mode", "tokens", "token_accuracy", "gold_entities",
                        "predicted_entities", "correct_entities") if k in result]
    return pd.DataFrame({"value": [result[k] for k in keys]}, index=pd.Index(keys, name="key"))


def _cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as display text: floats with two decimals, missing values empty."""
    def cell(v) -> str:
        if v is pd.NA or v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        return f"{v:.2f}" if isinstance(v, (float, np.floating)) else str(v)
    out = pd.DataFrame({c: [cell(v) for v in frame[c]] for c in frame.columns}, index=frame.index)
    out.columns.name = frame.columns.name
    return out


def markdown_table(header, rows, right=()) -> str:
    """A GitHub Markdown table from header names and rows of cell texts; columns whose
    index is in ``right`` are right-aligned; ``|`` in cells is escaped. Written here rather
    than with ``DataFrame.to_markdown``, which needs the ``tabulate`` package."""
    escape = lambda text: str(text).replace("\\", "\\\\").replace("|", "\\|")
    lines = ["| " + " | ".join(escape(h) for h in header) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table: the index first, cells as :func:`_cells` shows them,
    numeric columns right-aligned."""
    right = {i + 1 for i, c in enumerate(frame.columns) if pd.api.types.is_numeric_dtype(frame[c])}
    rows = [(label, *row) for label, row in zip(frame.index, _cells(frame).itertuples(index=False))]
    return markdown_table([frame.index.name or "", *frame.columns], rows, right)


LONGEST_CELL = 100   # characters of a type, text or context shown in a text table


def _fit(label):
    """A label or cell for a text table: text longer than :data:`LONGEST_CELL` characters (a
    1 MB entity type) is cut, with its length, so that it does not pad every row to its width;
    JSON, CSV and Markdown keep it whole."""
    if not isinstance(label, str) or len(label) <= LONGEST_CELL:
        return label
    return f"{label[:LONGEST_CELL - 24]}… ({len(label):,} characters)"


def _to_text(frame: pd.DataFrame) -> str:
    """A DataFrame as aligned plain text: numbers right-aligned, other columns left-aligned;
    long texts cut (:func:`_fit`)."""
    cells = _cells(frame).map(_fit)
    cells.index = cells.index.map(_fit)
    cells.columns = pd.Index([_fit(c) for c in frame.columns], name=frame.columns.name)
    left = [None if pd.api.types.is_numeric_dtype(frame.iloc[:, i]) else
            (lambda w: lambda v: v.ljust(w))(max(map(len, [str(name), *cells.iloc[:, i]])))
            for i, name in enumerate(cells.columns)]
    with pd.option_context("display.max_colwidth", None, "display.width", None):
        text = cells.to_string(formatters=left, justify="left" if any(left) else "right")
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """An error table indexed 1, 2, ... as ``rank``."""
    return frame.set_axis(pd.RangeIndex(1, len(frame) + 1, name="rank"))


_TITLES = {
    "scores": "entity scores (overall: micro average over entities; macro avg: mean over types)",
    "confusion": "entity confusion (span level; rows: gold type or spurious, columns: predicted type or missed)",
    "fp": "most frequent false positives (predicted entities without a gold entity of the same type and boundaries)",
    "fn": "most frequent false negatives (gold entities not predicted with the same type and boundaries)",
}


def _header(result: dict) -> tuple[str, str]:
    """The line naming the data, its size, scheme and mode; and the token accuracy line."""
    where = f"{result['data']}: " if "data" in result else ""
    if "case" in result:
        where += f"{CASE_NAMES[result['case']]}: "
    head = (f"{where}{result['tokens']} tokens, {result['gold_entities']} gold entities; "
            f"scheme {result['scheme']}, mode {result['mode']}")
    accuracy = f"token accuracy: {result['token_accuracy']:.2f}% (tokens whose tag equals the gold tag)"
    return head, accuracy


def _tables(result: dict, confusion, errors) -> list[tuple[str, pd.DataFrame]]:
    """The report's tables in order, each under its :data:`_TITLES` name."""
    tables = [("scores", report(result, macro=True))]
    if confusion is not None:
        tables.append(("confusion", confusion))
    if errors is not None:
        tables += [("fp", _ranked(errors[0])), ("fn", _ranked(errors[1]))]
    return tables


def as_table(result: dict, confusion=None, errors=None) -> str:
    """A header line naming the data, scheme and mode; the per-type table with the overall
    (micro) and macro lines; token accuracy; then the other tables."""
    head, accuracy = _header(result)
    out = [head]
    for name, frame in _tables(result, confusion, errors):
        if name != "scores":
            out += ["", _TITLES[name] + ":"]
        out.append(_to_text(frame.rename_axis(None) if name == "scores" else frame) if len(frame) else "(none)")
        if name == "scores":
            out.append(accuracy)
    return "\n".join(out)


def as_json(result: dict, confusion=None, errors=None) -> str:
    """``result`` with ``confusion`` ({gold: {predicted: count}}) and ``errors``
    ({"false_positives": [...], "false_negatives": [...]}) added when given."""
    return json.dumps(_json(result, confusion, errors), indent=2)


def _json(result: dict, confusion, errors) -> dict:
    out = dict(result)
    if confusion is not None:
        out["confusion"] = {g: {p: int(v) for p, v in row.items()} for g, row in confusion.iterrows()}
    if errors is not None:
        records = lambda f: [{**r, "count": int(r["count"])} for r in f.to_dict(orient="records")]
        out["errors"] = {"false_positives": records(errors[0]), "false_negatives": records(errors[1])}
    return out


def as_csv(result: dict, confusion=None, errors=None) -> str:
    """Sections separated by one blank line, each a CSV with its own header row (read each
    with ``pandas.read_csv``): the summary (``key,value``), the scores (``type,...``), then
    the confusion table (``gold,...``) and the errors (``error,rank,...``) when given."""
    return _csv(_csv_sections(result, confusion, errors))


def _csv(sections: list[pd.DataFrame]) -> str:
    return "\n".join(frame.to_csv(float_format="%.4f", lineterminator="\n") for frame in sections)


def _csv_sections(result: dict, confusion, errors) -> list[pd.DataFrame]:
    tables = _tables(result, confusion, errors)
    sections = [summary(result)] + [t for name, t in tables if name not in ("fp", "fn")]
    if errors is not None:
        kinds = [t.assign(error=kind).reset_index() for kind, (_, t) in zip(("false positive", "false negative"), tables[-2:])]
        sections.append(pd.concat(kinds).set_index("error"))
    return sections


def as_markdown(result: dict, confusion=None, errors=None) -> str:
    """The header, token accuracy, then each table under a ``###`` heading."""
    head, accuracy = _header(result)
    out = [f"**{head}**", "", accuracy]
    for name, frame in _tables(result, confusion, errors):
        out += ["", f"### {_TITLES[name]}", "", to_markdown(frame) if len(frame) else "(none)"]
    return "\n".join(out)


FORMATS = {"table": as_table, "json": as_json, "csv": as_csv, "markdown": as_markdown}


def format_report(result: dict, fmt: str = "table", confusion: pd.DataFrame | None = None,
                  errors: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> str:
    """The scores of :func:`nerwin.scoring.score` (and optionally its confusion table and
    error lists) in the format :data:`FORMATS` names ``fmt``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}: expected one of {', '.join(FORMATS)}")
    return FORMATS[fmt](result, confusion, errors)


# ---------------------------------------------------------------- case variants

CASE_NAMES = {"as-is": "as written", "lower": "every word lower-cased",
              "upper": "every word upper-cased", "title": "every word title-cased"}


def by_case(results: dict) -> pd.DataFrame:
    """One row per case variant: overall precision, recall and F1, then F1 per type."""
    types = sorted({t for r in results.values() for t in r["per_type"]})
    rows = {case: {"precision": r["precision"], "recall": r["recall"], "f1": r["f1"],
                   **{t: r["per_type"].get(t, {}).get("f1", float("nan")) for t in types}}
            for case, r in results.items()}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["precision", "recall", "f1", *types])
    frame.index.name = "case"
    return frame


def format_cases(reports: dict, fmt: str = "table") -> str:
    """The reports of one file scored as written and re-cased, each labelled with its case.

    ``reports`` maps a case name (``as-is``, ``lower``, ``upper``, ``title``) to the arguments
    of :func:`format_report` (``result``, ``confusion``, ``errors``); each result holds its
    ``case``. ``json``: ``{"data": ..., "cases": {case: report}}``; ``csv``: the sections of
    :func:`as_csv`, each with a leading ``case`` column over all variants; ``table`` and
    ``markdown``: a table of F1 by case (overall P/R/F1 and F1 per type), then each variant's
    full report under its name.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}: expected one of {', '.join(FORMATS)}")
    first = next(iter(reports.values()))[0]
    if fmt == "json":
        out = {"data": first["data"]} if "data" in first else {}
        out["cases"] = {case: _json(*args) for case, args in reports.items()}
        return json.dumps(out, indent=2)
    if fmt == "csv":
        per_case = {case: _csv_sections(*args) for case, args in reports.items()}
        labelled = lambda frame, case: (frame.reset_index().assign(case=case)
                                        .set_index(["case", frame.index.name or "index"]))
        n_sections = len(next(iter(per_case.values())))
        return _csv([pd.concat([labelled(sections[i], case) for case, sections in per_case.items()])
                     for i in range(n_sections)])
    overview = by_case({case: args[0] for case, args in reports.items()})
    title = "F1 by case (overall precision, recall, F1; then F1 per type)"
    parts = [f"## {title}\n\n{to_markdown(overview)}" if fmt == "markdown" else f"{title}:\n{_to_text(overview)}"]
    for case, (result, confusion, errors) in reports.items():
        text = format_report(result, fmt, confusion, errors)
        parts.append(f"## case: {case}\n\n{text}" if fmt == "markdown" else text)
    return "\n\n".join(parts)
