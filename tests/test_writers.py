"""The writers' fast paths against the plain ones they replace: JSON lines assembled from
pieces against ``json.dumps`` per record, on hostile strings and scores."""

import io
import json

import pytest
from hypothesis import given, settings, strategies as st

from nerwin import predict as P, segment as S, writers as W
from nerwin.tokenize import Token


def plain_jsonl(segs, sources) -> bytes:
    """One ``json.dumps`` per sentence, line breaks escaped: the writer as it was."""
    sink = io.BytesIO()
    out = W.Output(sink, "test")
    for seg in segs:
        lines = []
        for s in seg.sentences:
            record = {
                "text": s.text, "start": s.start, "tokens": [t.text for t in s.tokens], "tags": s.tags,
                "entities": [{"start": e.start, "end": e.end, "label": e.label, "type": e.label,
                              "text": e.text, "score": round(e.score, 4)} for e in s.entities],
                "doc": seg.doc, "source": sources[seg.doc],
            }
            lines.append(json.dumps(record, ensure_ascii=False).translate(W._JSON_LINE_BREAKS) + "\n")
        out.write("".join(lines))
    return sink.getvalue()


def fast_jsonl(segs, sources) -> bytes:
    sink = io.BytesIO()
    W.JsonlWriter(W.Output(sink, "test"), ["PER"], sources).write(segs)
    return sink.getvalue()


HOSTILE = ['say "hi"\\ ok', "tab\there\x00\x1f\x7f", "line\x85sep\u2028para\u2029", "bad \udc80 byte",
           "שלום עולם", "👩‍👩‍👧 e\u0301", "", " ", "\r\n", "</script>"]
SCORES = [0.123456, 1.0, 0.0, 1e-7, 0.99995, float("nan"), float("inf"), -float("inf"), 2 / 3]


def segments_of(texts, scores, doc=0):
    sentences = []
    for k, text in enumerate(texts):
        tokens = [Token(text, 10 * k, 10 * k + len(text)), Token("x", 10 * k + 1, 10 * k + 2)]
        entities = [P.Entity(10 * k, 10 * k + len(text), label, text, scores[(k + i) % len(scores)])
                    for i, label in enumerate(["PER", 'L"O\\C\u2028'])]
        sentences.append(S.Sentence(10 * k, text, tokens, [text, "O"], entities))
    return [S.Segment(doc, 0, "".join(texts), sentences[:3], False),
            S.Segment(doc, 7, "", [], False), S.Segment(doc, 9, "", sentences[3:], True)]


@pytest.mark.parametrize("source", [None, "-", 'dir/"odd"\\name\u2028.txt', "bad\udcff.txt"])
def test_jsonl_lines_equal_json_dumps(source):
    segs = segments_of(HOSTILE, SCORES)
    assert fast_jsonl(segs, [source]) == plain_jsonl(segs, [source])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=5), st.lists(st.floats(), min_size=1, max_size=5),
       st.one_of(st.none(), st.text()))
def test_jsonl_lines_equal_json_dumps_on_any_strings_and_scores(texts, scores, source):
    segs = segments_of(texts, scores)
    assert fast_jsonl(segs, [source]) == plain_jsonl(segs, [source])


def test_jsonl_tokens_that_need_escaping_in_a_plain_sentence():
    """Tokens are checked themselves, not through the sentence's text."""
    tokens = [Token('say"', 0, 4), Token("back\\slash", 5, 15), Token("tab\t", 16, 20), Token("plain", 21, 26)]
    sentence = S.Sentence(0, "plain text", tokens, ["O"] * 4, [])
    segs = [S.Segment(0, 0, "plain text", [sentence], True)]
    assert fast_jsonl(segs, [None]) == plain_jsonl(segs, [None])
