"""Streaming segmentation on hostile text: the work is linear in the input whatever characters
it holds (counted, not timed), tokens stay short, and input globs never loop."""

import os

import pytest

from nerwin import segment as S
from nerwin import tokenize as tok
from nerwin.segment import expand_inputs, segments, text_chunks

UNITS = {"combining acute": "\u0301", "enclosing circle (Me)": "\u20dd", "ZWJ": "\u200d", "ZWNJ": "\u200c",
         "variation selector": "\ufe0f", "skin tone": "\U0001f3fb", "a + ZWJ": "a\u200d",
         "emoji tag": "\U000e0061", "LRM (Cf)": "\u200e", "word joiner (Cf)": "\u2060",
         "emoji family": "\U0001f468\u200d\U0001f469\u200d\U0001f467", "letters": "a", "CJK": "\u4e00",
         "dots": ".", "digits": "7", "no-break space": "\u00a0"}


@pytest.fixture
def counted(monkeypatch):
    """Small pieces, and a count of the work that can grow faster than the input: characters
    handed to the tokenizer, and characters looked at to find a cut."""
    monkeypatch.setattr(S, "CHUNK_SIZE", 4096)
    monkeypatch.setattr(S, "LONGEST_SENTENCE", 2048)
    work = {"n": 0}

    def count(f, size):
        def counted_f(*args):
            work["n"] += size(*args)
            return f(*args)
        return counted_f
    monkeypatch.setattr(S, "split_sentences", count(S.split_sentences, lambda text, column=0: len(text)))
    monkeypatch.setattr(S, "tokenize", count(S.tokenize, lambda text: len(text)))
    monkeypatch.setattr(tok, "joins", count(tok.joins, lambda text, i: 1))
    return work


def run(text):
    segs = list(segments(text_chunks(text)))
    assert "".join(seg.text for seg in segs) == text
    tokens = [t for seg in segs for s in seg.sentences for t in s.tokens]
    assert max((t.end - t.start for t in tokens), default=0) <= tok.LONGEST_TOKEN
    assert all(text[t.start:t.end] == t.text for t in tokens)
    return segs


@pytest.mark.parametrize("unit", UNITS.values(), ids=UNITS.keys())
def test_segmenting_work_is_linear_in_a_run_of_any_character(counted, unit):
    n = 20_000 // len(unit)
    run("e" + unit * n)
    small, counted["n"] = counted["n"], 0
    run("e" + unit * 8 * n)
    assert counted["n"] <= 10 * small, (small, counted["n"])     # 8 if linear, 64 if quadratic


def test_two_hundred_thousand_combining_marks_are_segmented(counted):
    """"e" + 70,000 marks took 125 s and 2 MB of them never finished: each cut re-tokenized
    the whole run."""
    run("e" + "\u0301" * 200_000)
    assert counted["n"] < 50 * 200_000


def test_a_cut_keeps_an_emoji_with_its_modifier():
    text = "x" * (S.LONGEST_SENTENCE - 1) + "\U0001f44d\U0001f3fb" + "y" * 100
    cut_at = [seg.sentences[-1].tokens[-1].end for seg in run(text)[:-1]]
    assert S.LONGEST_SENTENCE not in cut_at


def test_input_globs_give_each_file_once_despite_symlink_loops(tmp_path, monkeypatch):
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    for name in ["docs/a.txt", "docs/sub/b.txt"]:
        (tmp_path / name).write_text("Paris.")
    for link, target in [("docs/l1", "."), ("docs/l2", "."), ("docs/sub/up", "..")]:
        os.symlink(target, tmp_path / link)
    monkeypatch.chdir(tmp_path)
    assert [str(p) for p in expand_inputs([S.Path("docs/**/*.txt")])] == ["docs/a.txt", "docs/sub/b.txt"]


def test_pieces_cut_only_where_the_sentences_stay_the_same():
    """Random texts of the tokenizer's hard cases (initials before a blank line, CRLF, list
    items, datelines): the sentences of the pieces, offsets moved, are the whole text's."""
    import random

    from nerwin.segment import pieces
    from nerwin.tokenize import split_sentences

    rng = random.Random(0)
    words = ["Mr.", "J.", "K.", "Smith", "went", "to", "Paris", ".", "!", "\n", "\n\n", "\n \n", "\r\n\r\n",
             "1.", "-", "U.S.", "WASHINGTON", "(Reuters)", "the", "'s", "n't", "...", '"', "  ", "A", "\u00c9."]
    cuts = 0
    for _ in range(2000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(5, 80)))
        whole = [[tuple(t) for t in s] for s in split_sentences(text)]
        parts = list(pieces(text_chunks(text), rng.randint(1, 40)))
        assert "".join(p for _, p in parts) == text and parts[0][0] == 0
        got = [[(t.text, t.start + offset, t.end + offset) for t in s]
               for offset, piece in parts for s in split_sentences(piece)]
        assert got == whole, repr(text)
        cuts += len(parts) - 1
    assert cuts > 1000
    assert [p for _, p in pieces(["A b J.\n\nKennedy c.\n\nD e."], 1)] == ["A b J.\n\nKennedy c.\n\n", "D e."]
    assert list(pieces([], 10)) == [(0, "")]
