"""conlleval-style entity scoring."""

import numpy as np
import pytest

from nerwin.scoring import prf, score

from helpers import run


def test_hand_computed_counts():
    gold = ["B-PER", "I-PER", "O", "B-LOC", "O", "B-PER", "O"]
    pred = ["B-PER", "I-PER", "O", "B-PER", "O", "B-PER", "I-PER"]
    r = run(gold, pred)
    # gold: PER[0,2) LOC[3,4) PER[5,6); pred: PER[0,2) PER[3,4) PER[5,7); correct: PER[0,2)
    assert r["tokens"] == 7
    assert r["gold_entities"] == 3
    assert r["predicted_entities"] == 3
    assert r["correct_entities"] == 1
    assert r["precision"] == pytest.approx(100 / 3)
    assert r["recall"] == pytest.approx(100 / 3)
    assert r["f1"] == pytest.approx(100 / 3)
    assert r["token_accuracy"] == pytest.approx(100 * 5 / 7)
    assert list(r["per_type"]) == ["LOC", "PER"]
    per = r["per_type"]["PER"]
    assert (per["tp"], per["fp"], per["fn"], per["support"]) == (1, 2, 1, 2)
    assert per["precision"] == pytest.approx(100 / 3)
    assert per["recall"] == pytest.approx(50.0)
    assert per["f1"] == pytest.approx(40.0)
    loc = r["per_type"]["LOC"]
    assert (loc["tp"], loc["fp"], loc["fn"], loc["support"]) == (0, 0, 1, 1)
    assert (loc["precision"], loc["recall"], loc["f1"]) == (0.0, 0.0, 0.0)


def test_two_types_unequal_precision_recall():
    gold = ["B-ORG", "I-ORG", "O", "B-PER", "B-PER", "O", "B-LOC", "O"]
    pred = ["B-ORG", "I-ORG", "O", "B-PER", "O", "O", "B-LOC", "B-LOC"]
    r = run(gold, pred)
    # correct: ORG[0,2), PER[3,4), LOC[6,7); missed PER[4,5); spurious LOC[7,8)
    assert (r["gold_entities"], r["predicted_entities"], r["correct_entities"]) == (4, 4, 3)
    assert r["precision"] == pytest.approx(75.0)
    assert r["recall"] == pytest.approx(75.0)
    assert r["per_type"]["PER"] == {
        "precision": pytest.approx(100.0), "recall": pytest.approx(50.0), "f1": pytest.approx(200 / 3),
        "tp": 1, "fp": 0, "fn": 1, "support": 2,
    }
    assert r["per_type"]["LOC"]["tp"] == 1
    assert r["per_type"]["LOC"]["fp"] == 1
    assert r["per_type"]["LOC"]["fn"] == 0
    assert r["per_type"]["LOC"]["precision"] == pytest.approx(50.0)
    assert r["per_type"]["LOC"]["recall"] == pytest.approx(100.0)
    assert r["per_type"]["ORG"]["f1"] == pytest.approx(100.0)
    assert r["token_accuracy"] == pytest.approx(100 * 6 / 8)


def test_boundary_and_type_must_match_exactly():
    gold = ["B-PER", "I-PER", "I-PER", "O", "B-LOC"]
    pred = ["B-PER", "I-PER", "O", "O", "B-ORG"]
    r = run(gold, pred)
    assert r["correct_entities"] == 0
    assert r["per_type"]["PER"]["fp"] == 1 and r["per_type"]["PER"]["fn"] == 1
    assert r["f1"] == 0.0


def test_perfect():
    gold = ["B-PER", "I-PER", "O", "S-LOC"]
    r = run(gold, gold)
    assert r["precision"] == r["recall"] == r["f1"] == 100.0
    assert r["token_accuracy"] == 100.0
    assert r["correct_entities"] == 2


def test_iob1_and_iob2_predictions_score_the_same():
    gold = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG"]
    pred_iob2 = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "I-LOC", "O", "B-ORG"]
    pred_iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-LOC", "O", "I-ORG"]
    pred_iobes = ["B-PER", "E-PER", "S-PER", "O", "B-LOC", "E-LOC", "O", "S-ORG"]
    a, b, c = run(gold, pred_iob2), run(gold, pred_iob1), run(gold, pred_iobes)
    keys = ["precision", "recall", "f1", "gold_entities", "predicted_entities", "correct_entities", "per_type"]
    assert {k: a[k] for k in keys} == {k: b[k] for k in keys} == {k: c[k] for k in keys}
    assert a["correct_entities"] == 2  # PER[0,2) and PER[2,3)
    assert a["predicted_entities"] == 4
    # token accuracy compares tag strings, so it does depend on the scheme
    assert a["token_accuracy"] == pytest.approx(100 * 5 / 8)
    assert b["token_accuracy"] == pytest.approx(100 * 4 / 8)


def test_gold_in_iob1_and_iob2_score_the_same():
    gold_iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC"]
    gold_iob2 = ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]
    pred = ["B-PER", "I-PER", "O", "O", "B-LOC"]
    a, b = run(gold_iob1, pred), run(gold_iob2, pred)
    assert a["per_type"] == b["per_type"]
    assert (a["precision"], a["recall"], a["f1"]) == (b["precision"], b["recall"], b["f1"])
    assert a["recall"] == pytest.approx(200 / 3)
    assert a["precision"] == pytest.approx(100.0)


def test_predicted_type_not_in_gold_is_false_positive():
    gold = ["B-PER", "O", "O"]
    pred = ["B-PER", "O", "B-MISC"]
    r = run(gold, pred)
    assert list(r["per_type"]) == ["MISC", "PER"]
    misc = r["per_type"]["MISC"]
    assert (misc["tp"], misc["fp"], misc["fn"], misc["support"]) == (0, 1, 0, 0)
    assert (misc["precision"], misc["recall"], misc["f1"]) == (0.0, 0.0, 0.0)
    assert r["precision"] == pytest.approx(50.0)
    assert r["recall"] == pytest.approx(100.0)
    assert r["f1"] == pytest.approx(200 / 3)


def test_gold_type_never_predicted_has_recall_zero():
    gold = ["B-PER", "O", "B-LOC", "I-LOC"]
    pred = ["B-PER", "O", "O", "O"]
    r = run(gold, pred)
    loc = r["per_type"]["LOC"]
    assert loc["recall"] == 0.0 and loc["precision"] == 0.0 and loc["f1"] == 0.0
    assert (loc["tp"], loc["fp"], loc["fn"], loc["support"]) == (0, 0, 1, 1)
    assert r["per_type"]["PER"]["recall"] == 100.0
    assert r["recall"] == pytest.approx(50.0)
    assert r["precision"] == pytest.approx(100.0)


def test_empty_predictions():
    gold = ["B-PER", "I-PER", "O", "B-LOC"]
    r = run(gold, ["O"] * 4)
    assert r["predicted_entities"] == 0 and r["correct_entities"] == 0 and r["gold_entities"] == 2
    assert (r["precision"], r["recall"], r["f1"]) == (0.0, 0.0, 0.0)
    assert r["token_accuracy"] == pytest.approx(25.0)
    assert r["per_type"]["PER"]["fn"] == 1 and r["per_type"]["LOC"]["fn"] == 1


def test_no_entities_anywhere():
    r = run(["O", "O"], ["O", "O"])
    assert (r["precision"], r["recall"], r["f1"]) == (0.0, 0.0, 0.0)
    assert r["token_accuracy"] == 100.0
    assert r["per_type"] == {}


def test_empty_corpus():
    r = score(np.array([], dtype=object), np.array([], dtype=object), np.zeros(0, bool))
    assert r["tokens"] == 0 and r["token_accuracy"] == 0.0
    assert r["gold_entities"] == 0 and r["f1"] == 0.0


def test_sentence_boundaries_split_entities_in_both():
    gold = ["B-PER", "I-PER", "B-PER", "I-PER"]
    pred = ["B-PER", "B-PER", "B-PER", "I-PER"]
    assert run(gold, pred, starts=(0,))["correct_entities"] == 1
    split = run(gold, pred, starts=(0, 1))
    assert split["gold_entities"] == 3
    assert split["correct_entities"] == 3
    assert split["f1"] == 100.0


def test_same_start_different_length_not_confused():
    # many entities of different lengths starting at the same places
    gold = ["B-A", "I-A", "I-A", "I-A", "O", "B-B", "O"]
    pred = ["B-A", "I-A", "I-A", "O", "O", "B-B", "I-B"]
    r = run(gold, pred)
    assert r["correct_entities"] == 0


def test_prf():
    assert prf(0, 0, 0) == (0.0, 0.0, 0.0)
    p, r, f = prf(1, 2, 4)
    assert (p, r) == (50.0, 25.0)
    assert f == pytest.approx(100 / 3)


