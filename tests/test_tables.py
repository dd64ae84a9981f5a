"""Scores as tables: the per-type table, and the report in its four formats (table, JSON, CSV,
Markdown) with the confusion table and the error lists."""

import json
import sys
from io import StringIO

import pandas as pd
import pytest

from nerwin import scoring as M, tables
from nerwin.tables import report

from helpers import ERR_FIRST, ERR_GOLD, ERR_PRED, ERR_WORDS, arr, run


def test_report_table():
    gold = ["B-PER", "I-PER", "O", "B-LOC", "O", "B-PER", "O"]
    pred = ["B-PER", "I-PER", "O", "B-PER", "O", "B-PER", "I-PER"]
    table = report(run(gold, pred))
    assert list(table.index) == ["LOC", "PER", "overall"]
    assert list(table.columns) == ["precision", "recall", "f1", "tp", "fp", "fn", "support"]
    assert table.loc["overall", "tp"] == 1
    assert table.loc["overall", "fp"] == 2
    assert table.loc["overall", "fn"] == 2
    assert table.loc["overall", "support"] == 3
    assert table.loc["PER", "fp"] == 2
    assert table.loc["LOC", "recall"] == 0.0


def hand_result():
    return {"data": "x.conll", **M.score(arr(ERR_GOLD), arr(ERR_PRED), ERR_FIRST, mode="strict")}


def test_to_markdown_by_hand():
    frame = pd.DataFrame({"text": ["a|b", "c"], "f1": [12.345, 50.0], "tp": pd.array([1, pd.NA], dtype="Int64")},
                         index=pd.Index(["X", "Y"], name="type"))
    assert tables.to_markdown(frame) == "\n".join([
        "| type | text | f1 | tp |",
        "|---|---|---:|---:|",
        "| X | a\\|b | 12.35 | 1 |",
        "| Y | c | 50.00 |  |",
    ])


def test_markdown_does_not_need_tabulate(monkeypatch):
    monkeypatch.setitem(sys.modules, "tabulate", None)  # importing it now fails
    with pytest.raises(ImportError):
        pd.DataFrame({"a": [1]}).to_markdown()
    r = hand_result()
    errs = M.errors(arr(ERR_WORDS), arr(ERR_GOLD), arr(ERR_PRED), ERR_FIRST, 3, mode="strict")
    text = tables.format_report(r, "markdown", M.confusion(arr(ERR_GOLD), arr(ERR_PRED), ERR_FIRST), errs)
    assert "| type | precision | recall | f1 | tp | fp | fn | support |" in text
    assert "| gold | LOC | ORG | PER | missed |" in text
    assert "| rank | text | type | count | context |" in text


def test_table_format_names_scheme_mode_and_accuracy():
    text = tables.format_report(hand_result(), "table")
    head, scores = text.split("\n")[0], text.split("\n")[1:]
    assert head == "x.conll: 15 tokens, 3 gold entities; scheme iob2, mode strict"
    assert [line.split()[0] for line in scores[1:5]] == ["LOC", "ORG", "PER", "overall"]
    assert scores[5].startswith("macro avg")
    assert scores[6].startswith("token accuracy: 73.33%")  # 11 of 15 tags equal


def test_csv_sections_read_back_with_pandas():
    r = hand_result()
    errs = M.errors(arr(ERR_WORDS), arr(ERR_GOLD), arr(ERR_PRED), ERR_FIRST, 2)
    text = tables.format_report(r, "csv", M.confusion(arr(ERR_GOLD), arr(ERR_PRED), ERR_FIRST), errs)
    summary, scores, confusion, errors = (pd.read_csv(StringIO(s)) for s in text.strip("\n").split("\n\n"))
    assert dict(zip(summary["key"], summary["value"]))["scheme"] == "iob2"
    assert dict(zip(summary["key"], summary["value"]))["mode"] == "strict"
    assert list(scores["type"]) == ["LOC", "ORG", "PER", "overall", "macro avg"]
    overall = scores.set_index("type").loc["overall"]
    assert overall["precision"] == pytest.approx(r["precision"], abs=1e-4)
    assert overall["tp"] == r["correct_entities"]
    assert scores.set_index("type").loc["macro avg", "f1"] == pytest.approx(r["macro"]["f1"], abs=1e-4)
    assert list(confusion.columns) == ["gold", "LOC", "ORG", "PER", "missed"]
    assert list(errors.columns) == ["error", "rank", "text", "type", "count", "context"]
    assert list(errors["error"]) == ["false positive"] * 2 + ["false negative"] * 2
    assert list(errors["text"]) == ["New", "Paris", "New York", "Paris"]


def test_json_format_holds_everything():
    r = hand_result()
    errs = M.errors(arr(ERR_WORDS), arr(ERR_GOLD), arr(ERR_PRED), ERR_FIRST, 2)
    out = json.loads(tables.format_report(r, "json", M.confusion(arr(ERR_GOLD), arr(ERR_PRED), ERR_FIRST), errs))
    assert out["scheme"] == "iob2" and out["mode"] == "strict" and out["data"] == "x.conll"
    assert out["macro"] == pytest.approx(r["macro"])
    assert out["confusion"]["LOC"] == {"LOC": 0, "ORG": 1, "PER": 0, "missed": 2}
    assert out["confusion"]["spurious"] == {"LOC": 2, "ORG": 0, "PER": 1, "missed": 0}
    assert out["errors"]["false_positives"][0] == {
        "text": "New", "type": "LOC", "count": 2, "context": "... the President visited [New]LOC York and later ..."}
    assert [e["text"] for e in out["errors"]["false_negatives"]] == ["New York", "Paris"]
    with pytest.raises(ValueError, match="unknown report format"):
        tables.format_report(r, "xml")


def test_a_huge_type_is_cut_in_the_text_table_and_kept_whole_in_json():
    """A 1 MB entity type in the user's data: the text table shows its start and length and
    stays narrow (it would pad every row to its width); JSON keeps it whole."""
    huge = "X" * 1_000_000
    gold = [f"B-{huge}"] + ERR_GOLD[1:]
    r = {"data": "x.conll", **M.score(arr(gold), arr(ERR_PRED), ERR_FIRST)}
    errs = M.errors(arr(ERR_WORDS), arr(gold), arr(ERR_PRED), ERR_FIRST, 3)
    confusion = M.confusion(arr(gold), arr(ERR_PRED), ERR_FIRST)
    text = tables.format_report(r, "table", confusion, errs)
    assert "X" * 60 + "… (1,000,000 characters)" in text
    assert max(map(len, text.splitlines())) < 500
    assert huge in json.loads(tables.format_report(r, "json", confusion, errs))["per_type"]
