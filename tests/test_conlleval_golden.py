"""score() against conlleval.pl, to the two decimals it prints.

The golden cases in ``golden/`` are small files of ``word gold predicted`` lines; each
``.expected`` file is what conlleval.pl prints for it, worked out by hand (the reasoning is
in :data:`GOLDEN_REASONING`) and checked against a port of conlleval's counting loop
(:func:`oracles.conlleval.conlleval_port`), which random sequences then compare with
:func:`score` too.
"""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerwin import scoring as M

from helpers import GOLDEN, IOB_TAGS, arr, first_mask, read_golden
from oracles.conlleval import conlleval_port

_PROCESSED = re.compile(r"processed (\d+) tokens with (\d+) phrases; found: (\d+) phrases; correct: (\d+)\.")
_OVERALL = re.compile(r"accuracy: +([\d.]+)%; precision: +([\d.]+)%; recall: +([\d.]+)%; FB1: +([\d.]+)")
_TYPE = re.compile(r" *(\S+): precision: +([\d.]+)%; recall: +([\d.]+)%; FB1: +([\d.]+)  (\d+)")


def parse_conlleval(text):
    """conlleval's report as strings: counts, overall figures, per type (P, R, FB1, found)."""
    lines = text.strip("\n").split("\n")
    counts = _PROCESSED.fullmatch(lines[0]).groups()
    overall = _OVERALL.fullmatch(lines[1]).groups() if len(lines) > 1 else None
    per_type = {m.group(1): m.groups()[1:] for m in map(_TYPE.fullmatch, lines[2:])}
    return counts, overall, per_type


def as_conlleval(r):
    """score()'s result in the same strings, to two decimals as conlleval prints them."""
    counts = tuple(str(r[k]) for k in ("tokens", "gold_entities", "predicted_entities", "correct_entities"))
    overall = tuple(f"{r[k]:.2f}" for k in ("token_accuracy", "precision", "recall", "f1")) if r["tokens"] else None
    per_type = {t: (f"{v['precision']:.2f}", f"{v['recall']:.2f}", f"{v['f1']:.2f}", str(v["tp"] + v["fp"]))
                for t, v in r["per_type"].items()}
    return counts, overall, per_type


GOLDEN_REASONING = """
Hand computation of each golden case as conlleval.pl counts (chunks as [start,end) token
indices; a chunk is correct when both sides start it at the same token with the same type
and end it at the same token; accuracy = equal tag strings / tokens; P = correct / found,
R = correct / phrases, FB1 = 2PR / (P + R); per type "found" is the predicted chunks).

iob2_basic (14 tokens, two sentences)
  gold: PER[0,2) LOC[3,5) ORG[6,7) | ORG[9,11) LOC[13,14)                  5 phrases
  pred: PER[0,2) LOC[3,4)          | ORG[9,11) LOC[12,14)                  found 4
  correct: PER[0,2) ORG[9,11) = 2; LOC[3,4) is short, LOC[12,14) starts early
  tags differ on York, Reuters, in, Brussels: 10/14 = 71.43
  P 2/4 = 50.00, R 2/5 = 40.00, FB1 2*50*40/90 = 44.44
  LOC 0/2 found, 0/2 gold: 0, 0, 0 (2);  ORG 1/1, 1/2: 100, 50, 66.67 (1);  PER 100, 100, 100 (1)

iob1 (18 tokens, IOB1 on both sides)
  gold: ORG[0,1) MISC[2,3) MISC[6,7) | PER[9,11) PER[12,13) LOC[14,15) LOC[15,16)   7
        (Bonn I-LOC Germany B-LOC: the B splits two touching LOCs)
  pred: ORG[0,1) MISC[2,3) LOC[6,7)  | PER[9,10) PER[10,11) PER[12,13) LOC[14,16) MISC[16,17)   8
        (Smith B-PER after I-PER starts a chunk; Peter B-PER after O starts one, like gold's I-PER)
  correct: ORG[0,1) MISC[2,3) PER[12,13) = 3
  tags differ on British, Smith, Peter, Germany, today: 13/18 = 72.22
  P 3/8 = 37.50, R 3/7 = 42.86, FB1 = 2(3/8)(3/7)/(3/8+3/7) = 18/45 = 40.00
  LOC 0/2, 0/2: 0 (2);  MISC 1/2, 1/2: 50, 50, 50 (2);  ORG 100 (1);
  PER 1/3, 1/2: 33.33, 50.00, FB1 (1/3)/(5/6) = 40.00 (3)

ill_formed (14 tokens, IOB2 with ill-formed tags repaired)
  gold: MISC[1,2) (O I-MISC starts) ORG[3,4) LOC[4,5) (I-LOC after B-ORG starts) |
        PER[7,10) LOC[11,13) (O I-LOC starts)                                   5
  pred: MISC[1,2) ORG[3,5) | PER[7,8) LOC[8,9) PER[9,10) (I-PER after I-LOC starts) LOC[11,13)   6
  correct: MISC[1,2) (I-MISC and B-MISC both start there) LOC[11,13) = 2
  tags differ on Dutch, Amsterdam, Maria: 11/14 = 78.57
  P 2/6 = 33.33, R 2/5 = 40.00, FB1 (2/6)(2/5)2/(2/6+2/5) = 4/11 = 36.36
  LOC 1/2, 1/2: 50, 50, 50 (2);  MISC 100 (1);  ORG 0 (1);  PER 0 of 2 found, 0 of 1: 0 (2)

adjacent (11 tokens, same-type entities side by side)
  gold: LOC[0,1) LOC[1,2) LOC[2,3) LOC[4,5) | PER[7,8) PER[8,10)          6
  pred: LOC[0,2) LOC[2,3) (B after I starts)   | PER[7,8) PER[8,9) PER[9,10)   5
  correct: LOC[2,3) PER[7,8) = 2 (LOC[0,1) vs LOC[0,2): gold ends at France, pred does not)
  tags differ on France, Spain, Brown: 8/11 = 72.73
  P 2/5 = 40.00, R 2/6 = 33.33, FB1 2(0.4)(1/3)/(0.4+1/3) = 36.36
  LOC 1/2, 1/4: 50, 25, 33.33 (2);  PER 1/3, 1/2: 33.33, 50, 40.00 (3)

sentence_boundaries (13 tokens, four sentences)
  gold: PER[2,4) | PER[4,5) LOC[7,9) | LOC[9,10) (I-LOC opening a sentence starts) | PER[11,12)   5
  pred: PER[2,4) | PER[4,5) (I-PER opening a sentence starts) LOC[7,9) | LOC[9,10) |            4
  the blank line is an O O boundary token: it ends every chunk and is not counted as a token,
  so no chunk runs from one sentence into the next; correct = 4
  tags differ on Obama, Paris, Ban: 10/13 = 76.92
  P 4/4 = 100.00, R 4/5 = 80.00, FB1 2*100*80/180 = 88.89
  LOC 2/2, 2/2: 100 (2);  PER 2/2, 2/3: 100, 66.67, 80.00 (2)

types_one_side (12 tokens; MISC only in gold, PER only in predictions)
  gold: ORG[0,1) MISC[3,5) LOC[6,7) | ORG[8,9)                            4
  pred: ORG[0,1) LOC[6,7)           | PER[8,9)                            3
  correct: ORG[0,1) LOC[6,7) = 2
  tags differ on Olympic, Games, Apple: 9/12 = 75.00
  P 2/3 = 66.67, R 2/4 = 50.00, FB1 (2/3)/(7/6) = 4/7 = 57.14
  LOC 100 (1);  MISC nothing found: 0, 0, 0 (0);  ORG 1/1, 1/2: 100, 50, 66.67 (1);
  PER found 1, no gold: 0, 0, 0 (1); conlleval lists a type found on either side

no_predictions (3 tokens)
  gold LOC[0,1), nothing predicted: found 0 leaves precision at 0; 2/3 tags equal = 66.67
  LOC: 0, 0, 0 (0)
"""

GOLDEN_CASES = sorted(p.stem for p in GOLDEN.glob("*.conll"))


def test_there_are_enough_golden_cases():
    assert len(GOLDEN_CASES) >= 6
    for name in GOLDEN_CASES:
        assert (GOLDEN / f"{name}.expected").is_file(), name
        assert f"\n{name} (" in GOLDEN_REASONING, f"no hand computation written for {name}"


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_score_reproduces_conlleval_to_two_decimals(name):
    words, gold, pred, first = read_golden(GOLDEN / f"{name}.conll")
    expected = parse_conlleval((GOLDEN / f"{name}.expected").read_text())
    assert as_conlleval(M.score(gold, pred, first)) == expected


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_hand_computed_goldens_match_the_conlleval_port(name):
    assert conlleval_port((GOLDEN / f"{name}.conll").read_text()) == (GOLDEN / f"{name}.expected").read_text()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from(IOB_TAGS), st.sampled_from(IOB_TAGS)), min_size=1, max_size=8),
                min_size=1, max_size=5))
def test_score_agrees_with_the_conlleval_port_on_random_iob(sentences):
    """IOB1, IOB2 and every ill-formed mix of them (conlleval does not know IOBES)."""
    text = "\n\n".join("\n".join(f"w {g} {p}" for g, p in s) for s in sentences) + "\n"
    lengths = [len(s) for s in sentences]
    gold = arr([g for s in sentences for g, _ in s])
    pred = arr([p for s in sentences for _, p in s])
    first = first_mask(len(gold), np.cumsum([0] + lengths[:-1]))
    assert as_conlleval(M.score(gold, pred, first)) == parse_conlleval(conlleval_port(text))
