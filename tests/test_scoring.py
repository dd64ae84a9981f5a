"""conlleval-style entity scoring; the strict reading of each tag scheme, macro averages,
the span-level confusion table and the error lists."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerwin import scoring as M, tables
from nerwin import tags as T
from nerwin.scoring import prf, score

from helpers import (ERR_FIRST, ERR_GOLD, ERR_PRED, ERR_WORDS, GOLDEN, IOB_TAGS, arr, first_mask, read_golden,
                     run)


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


def strict(tags, scheme, starts=(0,)):
    """Strict entities of tag strings as (start, end, type) triples."""
    prefix, type_, types = T.parse(tags)
    sp = M.strict_spans(prefix, type_, first_mask(len(tags), starts), scheme)
    return [(int(s), int(e), types[int(k)]) for s, e, k in zip(sp.start, sp.end, sp.label)]


def test_strict_iob2_keeps_only_runs_opened_by_b():
    tags = ["O", "I-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-PER", "B-PER", "I-PER", "B-PER"]
    # O I-PER I-PER: no B, no entity; B-ORG I-PER: the I-PER opens nothing; B-PER B-PER: two
    assert strict(tags, "iob2") == [(3, 5, "LOC"), (5, 6, "ORG"), (7, 9, "PER"), (9, 10, "PER")]
    # conlleval's reading repairs the same tags instead
    prefix, type_, _ = T.parse(tags)
    assert len(T.spans(prefix, type_, first_mask(len(tags)))) == 6


def test_strict_iob2_treats_e_and_s_as_ill_formed():
    assert strict(["S-PER", "B-PER", "E-PER", "B-LOC", "I-LOC"], "iob2") == [(1, 2, "PER"), (3, 5, "LOC")]


def test_strict_iobes():
    tags = ["B-PER", "I-PER", "E-PER",  # 0-2 well-formed
            "S-LOC",                    # 3
            "B-ORG", "I-ORG", "O",      # 4-5 never closed
            "B-PER", "E-LOC",           # 7-8 closed with another type
            "I-PER", "E-PER",           # 9-10 opened by I
            "B-MISC", "B-MISC", "E-MISC",  # 11 unclosed, then 12-13 well-formed
            "S-PER", "E-PER"]           # 14, then an E after S
    assert strict(tags, "iobes") == [(0, 3, "PER"), (3, 4, "LOC"), (12, 14, "MISC"), (14, 15, "PER")]


def test_strict_iob1():
    tags = ["I-PER", "I-PER", "B-PER",   # PER[0,2), then B right after a PER: PER[2,3)
            "O", "B-LOC", "I-LOC",       # B after O is ill-formed, its I with it
            "O", "I-ORG", "B-ORG", "B-ORG",  # three touching ORGs
            "I-MISC",                    # I after another type opens MISC
            "B-PER",                     # B after another type: ill-formed
            "O", "B-PER", "B-PER"]       # B after an ill-formed B is not after an entity
    assert strict(tags, "iob1") == [(0, 2, "PER"), (2, 3, "PER"), (7, 8, "ORG"), (8, 9, "ORG"),
                                    (9, 10, "ORG"), (10, 11, "MISC")]


def test_strict_respects_sentence_starts():
    # IOB2: an I at a sentence start does not continue the entity of the sentence before
    assert strict(["B-PER", "I-PER", "I-PER", "B-LOC"], "iob2", starts=(0, 2)) == [(0, 2, "PER"), (3, 4, "LOC")]
    assert strict(["B-PER", "I-PER", "I-PER", "B-LOC"], "iob2", starts=(0,)) == [(0, 3, "PER"), (3, 4, "LOC")]
    # IOB1: a B opening a sentence touches nothing
    assert strict(["I-PER", "I-PER", "B-PER"], "iob1", starts=(0, 2)) == [(0, 2, "PER")]
    assert strict(["I-PER", "I-PER", "B-PER"], "iob1", starts=(0,)) == [(0, 2, "PER"), (2, 3, "PER")]
    # IOBES: B E across a sentence break is two broken halves
    assert strict(["B-PER", "E-PER"], "iobes", starts=(0, 1)) == []
    assert strict(["B-PER", "E-PER"], "iobes", starts=(0,)) == [(0, 2, "PER")]


def test_strict_empty_and_bad_scheme():
    assert strict([], "iob2", starts=()) == []
    assert strict(["O", "O"], "iobes") == []
    with pytest.raises(ValueError, match="unknown tag scheme 'bio'"):
        strict(["B-PER"], "bio")


def reference_strict(tags, starts, scheme):
    """The strict reading token by token, sentence by sentence (the definition, slowly)."""
    found, bounds = [], sorted(set(starts) | {0}) + [len(tags)]
    inside = {"I", "E"} if scheme == "iobes" else {"I"}
    for a, b in zip(bounds, bounds[1:]):
        sent = [(t, None) if t == "O" else (t[0], t[2:]) for t in tags[a:b]]
        i, last = 0, None  # last: (type, end) of the last entity found in this sentence
        while i < len(sent):
            p, kind = sent[i]
            if p == "O":
                i += 1
                continue
            j = i + 1
            while j < len(sent) and sent[j][0] in inside and sent[j][1] == kind and sent[j - 1][0] in "BI":
                j += 1
            if scheme == "iob2":
                ok = p == "B"
            elif scheme == "iobes":
                ok = p == "S" or (p == "B" and sent[j - 1][0] == "E")
            else:
                ok = p == "I" or (p == "B" and last == (kind, i))
            if ok:
                found.append((a + i, a + j, kind))
                last = (kind, j)
            i = j
    return found


TAG_ALPHABET = ["O", "B-A", "I-A", "E-A", "S-A", "B-B", "I-B", "E-B", "S-B"]


@settings(max_examples=300, deadline=None)
@given(tags=st.lists(st.sampled_from(TAG_ALPHABET), max_size=30),
       cuts=st.sets(st.integers(0, 29)), scheme=st.sampled_from(T.SCHEMES))
def test_strict_spans_agree_with_a_token_by_token_reading(tags, cuts, scheme):
    starts = sorted({0} | {c for c in cuts if c < len(tags)}) if tags else []
    assert strict(tags, scheme, starts) == reference_strict(tags, starts, scheme)


def test_score_is_backward_compatible():
    gold = ["I-PER", "I-PER", "B-PER", "O", "I-LOC"]
    pred = ["I-PER", "I-PER", "O", "O", "I-LOC"]
    r = M.score(arr(gold), arr(pred), first_mask(5))  # the old positional call
    for key in ("precision", "recall", "f1", "token_accuracy", "tokens", "gold_entities",
                "predicted_entities", "correct_entities", "per_type"):
        assert key in r
    assert (r["mode"], r["scheme"]) == ("conlleval", "iob1")  # the scheme is detected
    assert set(r["macro"]) == {"precision", "recall", "f1"}
    assert r["correct_entities"] == 2 and r["gold_entities"] == 3


def test_strict_mode_counts_only_well_formed_entities():
    gold = ["B-PER", "I-PER", "O", "I-LOC", "O", "B-ORG"]
    pred = ["B-PER", "I-PER", "O", "B-LOC", "O", "I-ORG"]
    lenient = run(gold, pred)
    # conlleval repairs both I's: PER, LOC, ORG on both sides, all three right
    assert (lenient["gold_entities"], lenient["predicted_entities"], lenient["correct_entities"]) == (3, 3, 3)
    assert lenient["f1"] == 100.0
    r = run(gold, pred, mode="strict", scheme="iob2")
    # gold: PER[0,2) ORG[5,6) (O I-LOC is ill-formed); pred: PER[0,2) LOC[3,4) (O I-ORG is)
    assert (r["gold_entities"], r["predicted_entities"], r["correct_entities"]) == (2, 2, 1)
    assert (r["precision"], r["recall"], r["f1"]) == (50.0, 50.0, 50.0)
    assert r["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 1, "fn": 0, "support": 0}
    assert r["per_type"]["ORG"]["fn"] == 1 and r["per_type"]["ORG"]["support"] == 1
    assert (r["mode"], r["scheme"]) == ("strict", "iob2")
    # token accuracy does not depend on the mode
    assert r["token_accuracy"] == lenient["token_accuracy"] == pytest.approx(100 * 4 / 6)


def test_strict_mode_on_the_ill_formed_golden_case():
    words, gold, pred, first = read_golden(GOLDEN / "ill_formed.conll")
    r = M.score(gold, pred, first, mode="strict", scheme="iob2")
    # gold: ORG[3,4) PER[7,10) (I-MISC, I-LOC after B-ORG and O I-LOC I-LOC are ill-formed)
    # pred: MISC[1,2) ORG[3,5) PER[7,8) (I-LOC after B-PER, I-PER after I-LOC, O I-LOC are)
    assert (r["gold_entities"], r["predicted_entities"], r["correct_entities"]) == (2, 3, 0)
    assert list(r["per_type"]) == ["MISC", "ORG", "PER"]  # LOC has no entity on either side
    assert r["f1"] == 0.0


def test_scheme_argument_is_used_and_echoed():
    gold = ["I-PER", "I-PER", "B-PER", "O"]
    # as IOB1: two touching PERs; as IOB2: the I-PER run is ill-formed, the B-PER stands
    as_iob1 = run(gold, gold, mode="strict", scheme="iob1")
    as_iob2 = run(gold, gold, mode="strict", scheme="iob2")
    assert (as_iob1["scheme"], as_iob1["gold_entities"]) == ("iob1", 2)
    assert (as_iob2["scheme"], as_iob2["gold_entities"]) == ("iob2", 1)
    assert run(gold, gold, mode="strict")["scheme"] == "iob1"  # auto: detected
    assert run(gold, gold, scheme="iobes")["scheme"] == "iobes"
    with pytest.raises(ValueError, match="unknown tag scheme"):
        run(gold, gold, scheme="bio")
    with pytest.raises(ValueError, match="unknown scoring mode"):
        run(gold, gold, mode="lenient")


def test_macro_averages_by_hand():
    words, gold, pred, first = read_golden(GOLDEN / "iob2_basic.conll")
    r = M.score(gold, pred, first)
    # per type (see GOLDEN_REASONING): LOC 0/0/0, ORG 100/50/66.67, PER 100/100/100
    assert r["macro"]["precision"] == pytest.approx(200 / 3)
    assert r["macro"]["recall"] == pytest.approx(50.0)
    assert r["macro"]["f1"] == pytest.approx((0 + 200 / 3 + 100) / 3)
    assert r["precision"] == pytest.approx(50.0)  # micro differs
    table = tables.report(r, macro=True)
    assert list(table.index) == ["LOC", "ORG", "PER", "overall", "macro avg"]
    assert table.loc["macro avg", "recall"] == pytest.approx(50.0)
    assert pd.isna(table.loc["macro avg", "tp"])


def test_macro_counts_types_found_on_one_side_only():
    words, gold, pred, first = read_golden(GOLDEN / "types_one_side.conll")
    r = M.score(gold, pred, first)
    # LOC 100/100/100, MISC (gold only) 0/0/0, ORG 100/50/66.67, PER (predicted only) 0/0/0
    assert r["macro"]["precision"] == pytest.approx(50.0)
    assert r["macro"]["recall"] == pytest.approx((100 + 0 + 50 + 0) / 4)
    assert r["macro"]["f1"] == pytest.approx((100 + 200 / 3) / 4)
    assert run(["O"], ["O"])["macro"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_confusion_by_hand():
    gold = ["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "O", "O"]
    pred = ["B-ORG", "I-ORG", "O", "B-LOC", "I-LOC", "B-ORG", "O", "B-PER"]
    # gold PER[0,2) LOC[3,4) ORG[5,6); pred ORG[0,2) LOC[3,5) ORG[5,6) PER[7,8)
    # [0,2): PER read as ORG; [5,6): ORG right; LOC[3,4) missed; LOC[3,5), PER[7,8) spurious
    table = M.confusion(arr(gold), arr(pred), first_mask(8))
    assert list(table.index) == ["LOC", "ORG", "PER", "spurious"]
    assert list(table.columns) == ["LOC", "ORG", "PER", "missed"]
    assert table.to_numpy().tolist() == [
        [0, 0, 0, 1],
        [0, 1, 0, 0],
        [0, 1, 0, 0],
        [1, 0, 1, 0],
    ]
    assert (table.index.name, table.columns.name) == ("gold", "predicted")


def test_confusion_type_only_on_one_side():
    words, gold, pred, first = read_golden(GOLDEN / "types_one_side.conll")
    table = M.confusion(gold, pred, first)
    # ORG[8,9) predicted as PER with the same boundaries; MISC[3,5) missed
    assert table.loc["ORG", "PER"] == 1 and table.loc["ORG", "ORG"] == 1
    assert table.loc["MISC", "missed"] == 1 and table.loc["LOC", "LOC"] == 1
    assert table.to_numpy().sum() == 4  # gold entities, none spurious
    assert table.loc["spurious"].sum() == 0


def test_confusion_follows_the_mode():
    gold, pred = ["O", "I-PER"], ["O", "B-PER"]
    assert M.confusion(arr(gold), arr(pred), first_mask(2)).loc["PER", "PER"] == 1
    strict_table = M.confusion(arr(gold), arr(pred), first_mask(2), mode="strict", scheme="iob2")
    assert strict_table.loc["PER", "PER"] == 0 and strict_table.loc["spurious", "PER"] == 1


def test_confusion_of_a_corpus_without_entities():
    table = M.confusion(arr(["O"]), arr(["O"]), first_mask(1))
    assert table.shape == (1, 1) and table.to_numpy().sum() == 0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(IOB_TAGS), st.sampled_from(IOB_TAGS)), min_size=1, max_size=25),
       st.sampled_from(M.MODES))
def test_confusion_margins_are_the_score_counts(pairs, mode):
    gold, pred = arr([g for g, _ in pairs]), arr([p for _, p in pairs])
    first = first_mask(len(pairs))
    r = M.score(gold, pred, first, mode=mode, scheme="iob2")
    table = M.confusion(gold, pred, first, mode=mode, scheme="iob2")
    types = list(r["per_type"])
    assert list(table.index) == types + ["spurious"] and list(table.columns) == types + ["missed"]
    for t, v in r["per_type"].items():
        assert table.loc[t].sum() == v["support"]            # a row: the gold entities of t
        assert table[t].sum() == v["tp"] + v["fp"]           # a column: the predicted ones
        assert table.loc[t, t] == v["tp"]
    assert table.to_numpy().sum() - table.loc["spurious"].sum() == r["gold_entities"]


def test_errors_by_hand():
    fp, fn = M.errors(arr(ERR_WORDS), arr(ERR_GOLD), arr(ERR_PRED), ERR_FIRST, 10)
    # false positives: New/LOC twice (cut short), President/PER, Paris/ORG (wrong type)
    assert fp.to_dict(orient="records") == [
        {"text": "New", "type": "LOC", "count": 2, "context": "... the President visited [New]LOC York and later ..."},
        {"text": "Paris", "type": "ORG", "count": 1, "context": "[Paris]ORG is nice"},
        {"text": "President", "type": "PER", "count": 1, "context": "Yesterday the [President]PER visited New York ..."},
    ]
    # false negatives: New York/LOC twice, Paris/LOC; Paris's context stops at its sentence
    assert fn.to_dict(orient="records") == [
        {"text": "New York", "type": "LOC", "count": 2,
         "context": "... the President visited [New York]LOC and later New ..."},
        {"text": "Paris", "type": "LOC", "count": 1, "context": "[Paris]LOC is nice"},
    ]


def test_errors_keeps_the_n_most_frequent_and_a_chosen_context():
    fp, fn = M.errors(arr(ERR_WORDS), arr(ERR_GOLD), arr(ERR_PRED), ERR_FIRST, 1, context=1)
    assert fp.to_dict(orient="records") == [
        {"text": "New", "type": "LOC", "count": 2, "context": "... visited [New]LOC York ..."}]
    assert list(fn["text"]) == ["New York"]


def test_errors_none():
    fp, fn = M.errors(arr(["Paris"]), arr(["B-LOC"]), arr(["B-LOC"]), first_mask(1), 5)
    assert len(fp) == len(fn) == 0
    assert list(fp.columns) == list(fn.columns) == ["text", "type", "count", "context"]


def test_errors_follow_the_mode():
    words, gold, pred = arr(["in", "Oslo"]), arr(["O", "I-LOC"]), arr(["O", "B-LOC"])
    assert len(M.errors(words, gold, pred, first_mask(2), 5)[0]) == 0
    fp, fn = M.errors(words, gold, pred, first_mask(2), 5, mode="strict", scheme="iob2")
    assert list(fp["text"]) == ["Oslo"] and len(fn) == 0
