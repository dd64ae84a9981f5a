"""Tag schemes: parsing, conlleval-style entity reading, detection, encoding, conversion."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerwin import tags as T
from nerwin.errors import DataError

from helpers import first_mask


def read(tags, starts=(0,)):
    """Entities of tag strings as (start, end, type name) triples."""
    prefix, type_, types = T.parse(tags)
    sp = T.spans(prefix, type_, first_mask(len(tags), starts if len(tags) else ()))
    return [(int(s), int(e), types[int(l)]) for s, e, l in zip(sp.start, sp.end, sp.label)]


def make_spans(triples):
    arr = np.array(triples, dtype=np.int64).reshape(-1, 3)
    return T.Spans(arr[:, 0], arr[:, 1], arr[:, 2].astype(np.int32))


# ---------------------------------------------------------------- parse


def test_parse_valid_tags():
    prefix, type_, types = T.parse(["O", "B-PER", "I-PER", "E-LOC", "S-MISC", "O"])
    assert prefix.tolist() == [T.O, T.B, T.I, T.E, T.S, T.O]
    assert prefix.tolist() == [0, 1, 2, 3, 4, 0]
    # (first appearance and sorted-tag order agree here)
    assert types == ["PER", "LOC", "MISC"]
    assert type_.tolist() == [-1, 0, 0, 1, 2, -1]


def test_parse_extends_given_types_without_reordering():
    prefix, type_, types = T.parse(["B-PER", "B-LOC", "I-ORG"], ["ORG", "LOC"])
    assert types == ["ORG", "LOC", "PER"]
    assert type_.tolist() == [2, 1, 0]
    assert prefix.tolist() == [T.B, T.B, T.I]


def test_parse_types_with_hyphens_and_odd_characters():
    _, type_, types = T.parse(["B-GPE-LOC", "I-GPE-LOC", "S-x.y"])
    assert types == ["GPE-LOC", "x.y"]
    assert type_.tolist() == [0, 0, 1]


def test_parse_empty():
    prefix, type_, types = T.parse([])
    assert prefix.shape == (0,) and type_.shape == (0,)
    assert types == []
    prefix, type_, types = T.parse([], ["PER"])
    assert types == ["PER"]


def test_parse_all_o():
    prefix, type_, types = T.parse(["O", "O"])
    assert prefix.tolist() == [0, 0]
    assert type_.tolist() == [-1, -1]
    assert types == []


@pytest.mark.parametrize("bad", ["PER", "B", "o", "X-PER", "B-", "b-PER", "B_PER", "OO", "I-"])
def test_parse_bad_tag_names_file_and_line(bad):
    tags = ["O", "B-PER", "O", bad, "O", bad]
    lines = [3, 4, 5, 9, 10, 12]
    with pytest.raises(DataError) as info:
        T.parse(tags, path="corpus/train.conll", lines=lines)
    msg = str(info.value)
    assert msg.startswith("corpus/train.conll:9: ")  # line of the first bad occurrence
    assert repr(bad) in msg


def test_parse_bad_tag_without_path():
    with pytest.raises(DataError) as info:
        T.parse(["O", "PER"])
    assert str(info.value).startswith("<tags>: unknown tag 'PER'")


# ---------------------------------------------------------------- spans (conlleval reading)


def test_spans_iob1_touching_entities():
    assert read(["I-PER", "I-PER", "B-PER"]) == [(0, 2, "PER"), (2, 3, "PER")]


def test_spans_iob1_general():
    tags = ["O", "I-ORG", "I-ORG", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "O"]
    assert read(tags) == [(1, 3, "ORG"), (3, 4, "PER"), (5, 6, "LOC"), (6, 8, "LOC")]


def test_spans_iob2():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "I-LOC", "O", "B-MISC"]
    assert read(tags) == [(0, 2, "PER"), (3, 4, "LOC"), (4, 7, "LOC"), (8, 9, "MISC")]


def test_spans_iobes():
    tags = ["B-X", "I-X", "E-X", "S-X", "S-X", "O", "B-Y", "E-Y", "S-Y"]
    assert read(tags) == [(0, 3, "X"), (3, 4, "X"), (4, 5, "X"), (6, 8, "Y"), (8, 9, "Y")]


def test_spans_ill_formed_o_then_i_starts_entity():
    assert read(["O", "I-PER"]) == [(1, 2, "PER")]
    assert read(["O", "I-PER", "I-PER", "O"]) == [(1, 3, "PER")]


def test_spans_type_change_splits():
    assert read(["B-PER", "I-ORG"]) == [(0, 1, "PER"), (1, 2, "ORG")]
    assert read(["B-PER", "I-PER", "I-ORG", "I-ORG"]) == [(0, 2, "PER"), (2, 4, "ORG")]


def test_spans_iobes_ill_formed():
    assert read(["E-MISC", "B-MISC"]) == [(0, 1, "MISC"), (1, 2, "MISC")]
    # nothing continues after E or S
    assert read(["B-X", "E-X", "I-X"]) == [(0, 2, "X"), (2, 3, "X")]
    assert read(["B-X", "E-X", "E-X"]) == [(0, 2, "X"), (2, 3, "X")]
    assert read(["S-X", "I-X", "E-X"]) == [(0, 1, "X"), (1, 3, "X")]
    # B never continues
    assert read(["B-X", "B-X"]) == [(0, 1, "X"), (1, 2, "X")]
    # an entity left open by B runs to its last continuing token
    assert read(["B-X", "I-X", "O"]) == [(0, 2, "X")]


def test_spans_sentence_boundaries_split_entities():
    tags = ["B-PER", "I-PER", "I-PER", "I-PER"]
    assert read(tags, starts=(0,)) == [(0, 4, "PER")]
    assert read(tags, starts=(0, 2)) == [(0, 2, "PER"), (2, 4, "PER")]
    assert read(["I-PER", "I-PER"], starts=(0, 1)) == [(0, 1, "PER"), (1, 2, "PER")]
    assert read(["B-X", "E-X"], starts=(0, 1)) == [(0, 1, "X"), (1, 2, "X")]


def test_spans_entity_at_end_of_corpus():
    assert read(["O", "O", "B-LOC", "I-LOC"]) == [(2, 4, "LOC")]


def test_spans_empty_and_no_entities():
    assert read([]) == []
    assert read(["O", "O", "O"]) == []
    sp = T.spans(np.zeros(0, np.int8), np.zeros(0, np.int32), np.zeros(0, bool))
    assert len(sp) == 0


def test_spans_arrays_and_len():
    prefix, type_, _ = T.parse(["B-A", "I-A", "O", "S-B"])
    sp = T.spans(prefix, type_, first_mask(4))
    assert len(sp) == 2
    assert sp.start.tolist() == [0, 3]
    assert sp.end.tolist() == [2, 4]
    assert sp.label.dtype == np.int32


def test_continues():
    prefix, type_, _ = T.parse(["I-X", "I-X", "E-X", "I-X", "B-Y", "I-X", "I-X"])
    first = first_mask(7, (0, 6))
    assert T.continues(prefix, type_, first).tolist() == [False, True, True, False, False, False, False]


# ---------------------------------------------------------------- detect


@pytest.mark.parametrize(
    "tags, starts, expected",
    [
        (["I-PER", "O"], (0,), "iob1"),
        (["O", "I-PER", "I-PER", "B-PER"], (0,), "iob1"),
        (["B-PER", "I-PER", "O", "B-LOC"], (0,), "iob2"),
        (["B-PER", "I-PER"], (0, 1), "iob1"),  # I at a sentence start begins an entity
        (["B-PER", "B-PER", "I-PER"], (0,), "iob2"),
        (["B-PER", "E-PER", "O"], (0,), "iobes"),
        (["O", "S-PER"], (0,), "iobes"),
        (["I-PER", "E-PER"], (0,), "iobes"),
        (["O", "O"], (0,), "iob2"),
        ([], (), "iob2"),
    ],
)
def test_detect(tags, starts, expected):
    prefix, type_, _ = T.parse(tags)
    assert T.detect(prefix, type_, first_mask(len(tags), starts)) == expected


# ---------------------------------------------------------------- encode / to_strings

TYPES = ["PER", "LOC"]
# PER [0,2) [2,3) [3,5), LOC [6,7), in 8 tokens
SPANS = make_spans([(0, 2, 0), (2, 3, 0), (3, 5, 0), (6, 7, 1)])


def written(scheme, first=None):
    return T.to_strings(*T.encode(SPANS, 8, scheme, first), TYPES).tolist()


def test_encode_iob2():
    assert written("iob2") == ["B-PER", "I-PER", "B-PER", "B-PER", "I-PER", "O", "B-LOC", "O"]


def test_encode_iobes():
    assert written("iobes") == ["B-PER", "E-PER", "S-PER", "B-PER", "E-PER", "O", "S-LOC", "O"]


def test_encode_iob1_b_only_where_touching_same_type():
    assert written("iob1") == ["I-PER", "I-PER", "B-PER", "B-PER", "I-PER", "O", "I-LOC", "O"]


def test_encode_iob1_sentence_start_needs_no_b():
    first = first_mask(8, (0, 3))
    assert written("iob1", first) == ["I-PER", "I-PER", "B-PER", "I-PER", "I-PER", "O", "I-LOC", "O"]
    first = first_mask(8, (0, 2, 3))
    assert written("iob1", first) == ["I-PER", "I-PER", "I-PER", "I-PER", "I-PER", "O", "I-LOC", "O"]


def test_encode_iob1_touching_other_type_needs_no_b():
    sp = make_spans([(0, 1, 0), (1, 3, 1), (3, 4, 0)])
    tags = T.to_strings(*T.encode(sp, 4, "iob1"), TYPES).tolist()
    assert tags == ["I-PER", "I-LOC", "I-LOC", "I-PER"]


def test_encode_arrays():
    prefix, type_ = T.encode(SPANS, 8, "iobes")
    assert prefix.tolist() == [T.B, T.E, T.S, T.B, T.E, T.O, T.S, T.O]
    assert type_.tolist() == [0, 0, 0, 0, 0, -1, 1, -1]


def test_encode_long_entity_iobes():
    sp = make_spans([(1, 5, 1)])
    tags = T.to_strings(*T.encode(sp, 6, "iobes"), TYPES).tolist()
    assert tags == ["O", "B-LOC", "I-LOC", "I-LOC", "E-LOC", "O"]


def test_encode_no_spans():
    prefix, type_ = T.encode(make_spans([]), 3, "iobes")
    assert prefix.tolist() == [0, 0, 0]
    assert type_.tolist() == [-1, -1, -1]
    assert T.to_strings(prefix, type_, []).tolist() == ["O", "O", "O"]


def test_encode_unknown_scheme():
    with pytest.raises(ValueError, match="bio"):
        T.encode(SPANS, 8, "bio")


def test_to_strings_all_prefixes():
    prefix = np.array([0, 1, 2, 3, 4, 1, 4], np.int8)
    type_ = np.array([-1, 0, 0, 1, 1, 2, 2], np.int32)
    assert T.to_strings(prefix, type_, ["A", "B", "C"]).tolist() == [
        "O", "B-A", "I-A", "E-B", "S-B", "B-C", "S-C"
    ]


# ---------------------------------------------------------------- convert

ROUND_TRIPS = [
    # (iob1, starts, iob2, iobes)
    (
        ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-LOC", "I-PER"],
        (0,),
        ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "I-LOC", "B-PER"],
        ["B-PER", "E-PER", "S-PER", "O", "B-LOC", "E-LOC", "S-PER"],
    ),
    (
        ["I-PER", "I-PER", "I-PER", "O"],
        (0, 2),
        ["B-PER", "I-PER", "B-PER", "O"],
        ["B-PER", "E-PER", "S-PER", "O"],
    ),
    (
        ["I-ORG", "B-ORG", "B-ORG", "I-ORG", "I-ORG", "I-MISC"],
        (0,),
        ["B-ORG", "B-ORG", "B-ORG", "I-ORG", "I-ORG", "B-MISC"],
        ["S-ORG", "S-ORG", "B-ORG", "I-ORG", "E-ORG", "S-MISC"],
    ),
    (["O", "O"], (0, 1), ["O", "O"], ["O", "O"]),
    (["I-X"], (0,), ["B-X"], ["S-X"]),
]


@pytest.mark.parametrize("iob1, starts, iob2, iobes", ROUND_TRIPS)
def test_convert_round_trip(iob1, starts, iob2, iobes):
    first = first_mask(len(iob1), starts)
    to_iob2 = T.convert(iob1, first, "iob2")
    assert to_iob2.tolist() == iob2
    to_iobes = T.convert(to_iob2, first, "iobes")
    assert to_iobes.tolist() == iobes
    back = T.convert(to_iobes, first, "iob1")
    assert back.tolist() == iob1
    assert T.convert(iob1, first, "iob1").tolist() == iob1


def test_convert_repairs_ill_formed_sequences():
    first = first_mask(6)
    tags = ["O", "I-PER", "B-PER", "I-ORG", "E-MISC", "B-MISC"]
    assert T.convert(tags, first, "iob2").tolist() == ["O", "B-PER", "B-PER", "B-ORG", "B-MISC", "B-MISC"]
    assert T.convert(tags, first, "iobes").tolist() == ["O", "S-PER", "S-PER", "S-ORG", "S-MISC", "S-MISC"]
    assert T.convert(tags, first, "iob1").tolist() == ["O", "I-PER", "B-PER", "I-ORG", "I-MISC", "B-MISC"]


def test_convert_iob1_uses_first_mask():
    tags = ["B-PER", "B-PER"]
    assert T.convert(tags, first_mask(2, (0, 1)), "iob1").tolist() == ["I-PER", "I-PER"]
    assert T.convert(tags, first_mask(2, (0,)), "iob1").tolist() == ["I-PER", "B-PER"]


# ---------------------------------------------------------------- LabelSet


def test_labelset_iob2_names_and_classes():
    labels = T.LabelSet(["LOC", "PER"], "iob2")
    assert len(labels) == 5
    assert labels.names == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    sp = make_spans([(0, 2, 1), (3, 4, 0), (4, 6, 0)])
    classes = labels.encode(sp, 7)
    assert classes.tolist() == [3, 4, 0, 1, 1, 2, 0]
    assert classes.dtype == np.int32
    back = labels.decode(classes, first_mask(7))
    assert back.start.tolist() == [0, 3, 4]
    assert back.end.tolist() == [2, 4, 6]
    assert back.label.tolist() == [1, 0, 0]


def test_labelset_iobes_names_and_classes():
    labels = T.LabelSet(["LOC", "PER"], "iobes")
    assert len(labels) == 9
    assert labels.names == ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "B-PER", "I-PER", "E-PER", "S-PER"]
    sp = make_spans([(0, 3, 1), (3, 4, 0), (5, 7, 0)])
    classes = labels.encode(sp, 8)
    assert classes.tolist() == [5, 6, 7, 4, 0, 1, 3, 0]
    assert [labels.names[c] for c in classes] == ["B-PER", "I-PER", "E-PER", "S-LOC", "O", "B-LOC", "E-LOC", "O"]
    back = labels.decode(classes, first_mask(8))
    assert back.start.tolist() == [0, 3, 5]
    assert back.end.tolist() == [3, 4, 7]
    assert back.label.tolist() == [1, 0, 0]


@pytest.mark.parametrize("scheme", ["iob2", "iobes"])
def test_labelset_unknown_type_becomes_o(scheme):
    labels = T.LabelSet(["LOC"], scheme)
    sp = make_spans([(0, 1, 0), (1, 3, 1), (4, 5, 2)])
    classes = labels.encode(sp, 5)
    assert classes[1:].tolist() == [0, 0, 0, 0]
    assert classes[0] != 0
    back = labels.decode(classes, first_mask(5))
    assert list(zip(back.start.tolist(), back.end.tolist(), back.label.tolist())) == [(0, 1, 0)]


@pytest.mark.parametrize("scheme", ["iob2", "iobes"])
def test_labelset_decode_respects_sentence_starts(scheme):
    labels = T.LabelSet(["X"], scheme)
    sp = make_spans([(0, 2, 0), (2, 4, 0)])
    first = first_mask(4, (0, 2))
    back = labels.decode(labels.encode(sp, 4), first)
    assert back.start.tolist() == [0, 2] and back.end.tolist() == [2, 4]


def test_labelset_decode_ill_formed_predictions():
    labels = T.LabelSet(["X", "Y"], "iobes")
    # O, I-X, E-X, E-Y(class 7), B-Y(class 5)
    back = labels.decode(np.array([0, 2, 3, 7, 5]), first_mask(5))
    assert list(zip(back.start.tolist(), back.end.tolist(), back.label.tolist())) == [(1, 3, 0), (3, 4, 1), (4, 5, 1)]


def test_labelset_rejects_iob1():
    with pytest.raises(ValueError, match="iob1"):
        T.LabelSet(["PER"], "iob1")


# ---------------------------------------------------------------- property

TAG_POOL = ["O", "B-X", "I-X", "E-X", "S-X", "B-Y", "I-Y", "E-Y", "S-Y", "O", "I-Z"]


@st.composite
def tag_sequences(draw):
    n = draw(st.integers(0, 25))
    tags = draw(st.lists(st.sampled_from(TAG_POOL), min_size=n, max_size=n))
    first = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if n and draw(st.booleans()):
        first[0] = True
    return tags, np.array(first, bool)


def named_spans(tags, first):
    prefix, type_, types = T.parse(tags)
    sp = T.spans(prefix, type_, first)
    return [(int(s), int(e), types[int(l)]) for s, e, l in zip(sp.start, sp.end, sp.label)]


@settings(max_examples=300, deadline=None)
@given(tag_sequences())
def test_convert_keeps_spans(seq):
    tags, first = seq
    original = named_spans(tags, first)
    for scheme in T.SCHEMES:
        converted = T.convert(tags, first, scheme)
        assert len(converted) == len(tags)
        assert named_spans(converted, first) == original
        # converting again is a no-op
        assert T.convert(converted, first, scheme).tolist() == converted.tolist()
        if original and scheme != "iob2":
            assert T.detect(*T.parse(converted)[:2], first) == scheme
        if scheme == "iob2":
            assert T.detect(*T.parse(converted)[:2], first) == "iob2"


@settings(max_examples=200, deadline=None)
@given(tag_sequences(), st.sampled_from(["iob2", "iobes"]))
def test_labelset_round_trip_property(seq, scheme):
    tags, first = seq
    prefix, type_, types = T.parse(tags)
    sp = T.spans(prefix, type_, first)
    labels = T.LabelSet(types, scheme)
    back = labels.decode(labels.encode(sp, len(tags)), first)
    assert back.start.tolist() == sp.start.tolist()
    assert back.end.tolist() == sp.end.tolist()
    assert back.label.tolist() == sp.label.tolist()


@pytest.mark.parametrize("tag", ["B-ORG\0", "I-\x1b[31mRED", "B-PER\x85", "S-X\x7f"])
def test_a_type_with_a_control_character_is_an_unknown_tag(tag):
    with pytest.raises(DataError, match=r"x.conll:7: unknown tag .*control characters"):
        T.parse(["O", tag], path="x.conll", lines=np.array([6, 7]))


@pytest.mark.parametrize("tags, starts, scheme, repaired", [
    (["B-LOC", "O", "I-PER", "O", "B-ORG"], (0,), "iob2", [2]),           # O I-PER
    (["B-PER", "I-ORG", "O", "B-LOC"], (0,), "iob2", [1]),                # B-PER I-ORG
    (["B-PER", "I-PER", "I-PER", "O", "B-LOC"], (0, 2), "iob2", [2]),     # I at a sentence start
    (["B-PER", "I-PER", "O", "B-LOC"], (0,), "iob2", []),
    (["O", "E-MISC", "B-MISC", "O"], (0,), "iobes", [1, 2]),              # E-MISC B-MISC
    (["B-PER", "I-PER", "O", "S-LOC"], (0,), "iobes", [1]),               # no closing E
    (["B-PER", "E-PER", "S-LOC"], (0,), "iobes", []),
    (["I-PER", "O", "I-LOC", "I-ORG"], (0,), "iob1", []),                 # IOB1 starts with I
])
def test_ill_formed_marks(tags, starts, scheme, repaired):
    prefix, type_, _ = T.parse(tags)
    first = np.zeros(len(tags), bool)
    first[list(starts)] = True
    assert T.detect(prefix, type_, first) == scheme
    assert np.flatnonzero(T.ill_formed(prefix, type_, first, scheme)).tolist() == repaired
