"""CoNLL reading and the flat Corpus layout."""

import numpy as np
import pytest

from nerwin.data import Corpus, read_conll, recase, with_case_variants
from nerwin.errors import DataError
from nerwin.files import LONGEST_LINE

FOUR_COLUMNS = """\
-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER
"""


def write(tmp_path, content, name="corpus.conll"):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def as_lists(corpus):
    return (
        corpus.words.tolist(),
        corpus.lengths.tolist(),
        None if corpus.tags is None else corpus.tags.tolist(),
        corpus.lines.tolist(),
    )


# ---------------------------------------------------------------- reading


def test_four_columns(tmp_path):
    path = write(tmp_path, FOUR_COLUMNS)
    c = read_conll(path)
    words, lengths, tags, lines = as_lists(c)
    assert words == ["EU", "rejects", "German", "call", ".", "Peter", "Blackburn"]
    assert lengths == [5, 2]
    assert tags == ["B-ORG", "O", "B-MISC", "O", "O", "B-PER", "I-PER"]
    assert lines == [3, 4, 5, 6, 7, 9, 10]
    assert c.path == str(path)
    assert c.scheme == "iob2"
    assert len(c) == 2
    assert c.n_tokens == 7
    assert c.words.dtype == object and c.lengths.dtype == np.int64


def test_two_columns(tmp_path):
    c = read_conll(write(tmp_path, "Paris B-LOC\nis O\n\nOK O\n"))
    words, lengths, tags, lines = as_lists(c)
    assert words == ["Paris", "is", "OK"]
    assert tags == ["B-LOC", "O", "O"]
    assert lengths == [2, 1]
    assert lines == [1, 2, 4]


def test_docstart_without_blank_line_after(tmp_path):
    c = read_conll(write(tmp_path, "-DOCSTART- O\nEU B-ORG\nrejects O\n\n-DOCSTART- O\nIt O\n"))
    words, lengths, tags, lines = as_lists(c)
    assert words == ["EU", "rejects", "It"]
    assert lengths == [2, 1]
    assert lines == [2, 3, 6]


def test_docstart_inside_sentence_ends_it(tmp_path):
    c = read_conll(write(tmp_path, "a O\n-DOCSTART- O\nb O\n"))
    assert c.lengths.tolist() == [1, 1]
    assert c.words.tolist() == ["a", "b"]


def test_whitespace_only_lines_end_sentences(tmp_path):
    c = read_conll(write(tmp_path, "a O\nb O\n   \t \nc O\n\t\nd O\n"))
    assert c.lengths.tolist() == [2, 1, 1]
    assert c.lines.tolist() == [1, 2, 4, 6]


def test_double_blank_lines(tmp_path):
    c = read_conll(write(tmp_path, "\n\na O\n\n\n\nb O\nc O\n\n\n"))
    assert c.lengths.tolist() == [1, 2]
    assert c.words.tolist() == ["a", "b", "c"]
    assert c.lines.tolist() == [3, 7, 8]


def test_crlf(tmp_path):
    c = read_conll(write(tmp_path, "a O\r\nb B-PER\r\n\r\nc O\r\n"))
    assert c.words.tolist() == ["a", "b", "c"]
    assert c.tags.tolist() == ["O", "B-PER", "O"]
    assert c.lengths.tolist() == [2, 1]
    assert c.lines.tolist() == [1, 2, 4]


def test_trailing_spaces(tmp_path):
    c = read_conll(write(tmp_path, "a O   \nb B-PER \t\n"))
    assert c.words.tolist() == ["a", "b"]
    assert c.tags.tolist() == ["O", "B-PER"]


def test_no_final_newline(tmp_path):
    c = read_conll(write(tmp_path, "a O\n\nb B-LOC\nc I-LOC"))
    assert c.lengths.tolist() == [1, 2]
    assert c.tags.tolist() == ["O", "B-LOC", "I-LOC"]


def test_utf8_bom(tmp_path):
    c = read_conll(write(tmp_path, b"\xef\xbb\xbfZ\xc3\xbcrich B-LOC\nist O\n"))
    assert c.words.tolist() == ["Zürich", "ist"]
    assert c.tags.tolist() == ["B-LOC", "O"]


def test_tab_separated(tmp_path):
    c = read_conll(write(tmp_path, "New\tNNP\tB-LOC\nYork\tNNP\tI-LOC\n\nhi\tUH\tO\n"))
    assert c.words.tolist() == ["New", "York", "hi"]
    assert c.tags.tolist() == ["B-LOC", "I-LOC", "O"]
    assert c.lengths.tolist() == [2, 1]


def test_other_encoding(tmp_path):
    c = read_conll(write(tmp_path, "caf\xe9 O\n".encode("latin-1")), encoding="latin-1")
    assert c.words.tolist() == ["café"]


def test_without_tags_when_not_required(tmp_path):
    c = read_conll(write(tmp_path, "a\nb\n\nc\n"), require_tags=False)
    assert c.tags is None
    assert c.scheme is None
    assert c.words.tolist() == ["a", "b", "c"]
    assert c.lengths.tolist() == [2, 1]
    with pytest.raises(DataError, match="has no tag column"):
        c.spans()


def test_tags_read_even_when_not_required(tmp_path):
    c = read_conll(write(tmp_path, "a B-X\n"), require_tags=False)
    assert c.tags.tolist() == ["B-X"]
    assert c.scheme == "iob2"


# ---------------------------------------------------------------- errors


def test_error_inconsistent_columns(tmp_path):
    path = write(tmp_path, "a NN O\nb NN O\n\nc O\n")
    with pytest.raises(DataError) as info:
        read_conll(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}:4: ")
    assert "expected 3 columns as on line 1, found 2" in msg


def test_error_bad_tag(tmp_path):
    path = write(tmp_path, "a O\nb B-PER\n\nc O\nd PER\ne PER\n")
    with pytest.raises(DataError) as info:
        read_conll(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}:5: ")
    assert "'PER'" in msg


def test_error_bad_tag_even_without_required_tags(tmp_path):
    path = write(tmp_path, "a o\n")
    with pytest.raises(DataError, match=r":1: unknown tag 'o'"):
        read_conll(path, require_tags=False)


def test_error_invalid_utf8(tmp_path):
    path = write(tmp_path, b"a O\n\nb\xff O\n")
    with pytest.raises(DataError) as info:
        read_conll(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}:3: ")
    assert "byte 6 (0xff)" in msg
    assert "utf-8" in msg


def test_error_missing_file(tmp_path):
    path = tmp_path / "nope.conll"
    with pytest.raises(DataError) as info:
        read_conll(path)
    assert str(path) in str(info.value)
    assert "no such file" in str(info.value)


def test_error_folder(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        read_conll(tmp_path)


@pytest.mark.parametrize("content", ["", "\n\n  \n", "-DOCSTART- -X- O O\n\n"])
def test_error_empty_file(tmp_path, content):
    path = write(tmp_path, content)
    with pytest.raises(DataError) as info:
        read_conll(path)
    assert str(path) in str(info.value)
    assert "no sentences found" in str(info.value)


def test_error_one_column_when_tags_required(tmp_path):
    path = write(tmp_path, "\nword\nother\n")
    with pytest.raises(DataError) as info:
        read_conll(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}:2: ")
    assert "expected at least 2 columns" in msg


def test_error_unknown_encoding(tmp_path):
    with pytest.raises(DataError, match="unknown encoding 'nope'"):
        read_conll(write(tmp_path, "a O\n"), encoding="nope")


def test_errors_are_dataerror_exit_code(tmp_path):
    with pytest.raises(DataError) as info:
        read_conll(tmp_path / "missing")
    assert info.value.exit_code == 1


# ---------------------------------------------------------------- Corpus

THREE = "a B-PER\nb I-PER\nc O\n\nd O\n\ne B-LOC\nf O\ng B-PER\nh O\n"


def test_offsets_and_first(tmp_path):
    c = read_conll(write(tmp_path, THREE))
    assert c.lengths.tolist() == [3, 1, 4]
    assert c.offsets.tolist() == [0, 3, 4, 8]
    assert c.first.tolist() == [True, False, False, True, True, False, False, False]
    assert c.sentences() == [["a", "b", "c"], ["d"], ["e", "f", "g", "h"]]


def test_subset(tmp_path):
    c = read_conll(write(tmp_path, THREE))
    s = c.subset([2, 0])
    assert s.words.tolist() == ["e", "f", "g", "h", "a", "b", "c"]
    assert s.tags.tolist() == ["B-LOC", "O", "B-PER", "O", "B-PER", "I-PER", "O"]
    assert s.lines.tolist() == [7, 8, 9, 10, 1, 2, 3]
    assert s.lengths.tolist() == [4, 3]
    assert s.path == c.path and s.scheme == c.scheme == "iob2"
    assert s.first.tolist() == [True, False, False, False, True, False, False]
    one = c.subset(np.array([1]))
    assert one.words.tolist() == ["d"] and one.lengths.tolist() == [1]
    empty = c.subset([])
    assert len(empty) == 0 and empty.n_tokens == 0
    assert empty.offsets.tolist() == [0]


def test_subset_without_tags():
    c = Corpus.from_sentences([["a"], ["b", "c"]])
    s = c.subset([1])
    assert s.tags is None and s.lines is None
    assert s.words.tolist() == ["b", "c"]


def test_spans_and_entity_types(tmp_path):
    c = read_conll(write(tmp_path, FOUR_COLUMNS))
    sp, types = c.spans()
    named = [(int(s), int(e), types[int(l)]) for s, e, l in zip(sp.start, sp.end, sp.label)]
    assert named == [(0, 1, "ORG"), (2, 3, "MISC"), (5, 7, "PER")]
    assert c.entity_types() == ["MISC", "ORG", "PER"]
    sp, types = c.spans(["PER", "LOC"])
    assert types[:2] == ["PER", "LOC"] and sorted(types[2:]) == ["MISC", "ORG"]
    assert sp.label.tolist() == [types.index("ORG"), types.index("MISC"), 0]


def test_spans_split_at_sentence_boundaries(tmp_path):
    c = read_conll(write(tmp_path, "a I-PER\nb I-PER\n\nc I-PER\n"))
    sp, types = c.spans()
    assert sp.start.tolist() == [0, 2]
    assert sp.end.tolist() == [2, 3]
    assert types == ["PER"]


def test_entity_types_none(tmp_path):
    c = read_conll(write(tmp_path, "a O\n"))
    assert c.entity_types() == []
    assert len(c.spans()[0]) == 0
    assert c.scheme == "iob2"


IOB1 = "U.N. I-ORG\nofficial O\nEkeus I-PER\nheads O\nfor O\nBaghdad I-LOC\n\nA I-PER\nB B-PER\n"
IOB2 = "U.N. B-ORG\nofficial O\nEkeus B-PER\nheads O\nfor O\nBaghdad B-LOC\n\nA B-PER\nB B-PER\n"
IOBES = "U.N. S-ORG\nofficial O\nEkeus S-PER\nheads O\nfor O\nBaghdad S-LOC\n\nA S-PER\nB S-PER\n"


@pytest.mark.parametrize("text, scheme", [(IOB1, "iob1"), (IOB2, "iob2"), (IOBES, "iobes")])
def test_detect_scheme_and_same_spans(tmp_path, text, scheme):
    c = read_conll(write(tmp_path, text))
    assert c.scheme == scheme
    assert c.detect_scheme() == scheme
    sp, types = c.spans()
    named = [(int(s), int(e), types[int(l)]) for s, e, l in zip(sp.start, sp.end, sp.label)]
    assert named == [(0, 1, "ORG"), (2, 3, "PER"), (5, 6, "LOC"), (6, 7, "PER"), (7, 8, "PER")]


def test_from_sentences():
    c = Corpus.from_sentences([["a", "b"], ["c"]], [["I-X", "O"], ["B-Y"]])
    assert c.words.tolist() == ["a", "b", "c"]
    assert c.tags.tolist() == ["I-X", "O", "B-Y"]
    assert c.lengths.tolist() == [2, 1]
    assert c.scheme == "iob1"
    assert c.path == "<memory>"
    nt = Corpus.from_sentences([["a"]])
    assert nt.tags is None and nt.scheme is None


@pytest.mark.parametrize("content, line", [
    ("EU B-ORG\0\nrejects O\n", 1), ("EU B-ORG\n\nre\0jects O\n", 3), ("EU B-ORG\r\rre\0jects O\n", 3)])
def test_error_nul_character_names_its_line(tmp_path, content, line):
    path = tmp_path / "nul.conll"
    path.write_text(content)
    with pytest.raises(DataError, match=rf"nul.conll:{line}: a NUL character"):
        read_conll(path)


def test_error_utf16_without_bom_read_as_utf8(tmp_path):
    path = tmp_path / "u16.conll"
    path.write_bytes("EU B-ORG\nrejects O\n".encode("utf-16-le"))
    with pytest.raises(DataError, match=r"u16.conll:1: a NUL character.*--encoding"):
        read_conll(path)


def test_error_endless_line_stops_reading(tmp_path):
    """/dev/zero, or a 1 GB "word": refused after reading about LONGEST_LINE bytes."""
    with pytest.raises(DataError, match=r"/dev/zero: a line longer than .* bytes \(after line 1\)"):
        read_conll("/dev/zero")
    path = tmp_path / "long.conll"
    path.write_bytes(b"EU B-ORG\n\n" + b"x" * (LONGEST_LINE + 10) + b" O\n")
    with pytest.raises(DataError, match=r"long.conll: a line longer than .* \(after line 3\)"):
        read_conll(path)


# ---------------------------------------------------------------- case variants


def test_recase_changes_words_only(tmp_path):
    corpus = read_conll(write(tmp_path, FOUR_COLUMNS))
    for case, f in (("lower", str.lower), ("upper", str.upper), ("title", str.title)):
        cased = recase(corpus, case)
        assert cased.words.tolist() == [f(w) for w in corpus.words]
        assert cased.tags.tolist() == corpus.tags.tolist()
        assert cased.lengths.tolist() == corpus.lengths.tolist()
        assert cased.lines.tolist() == corpus.lines.tolist()
        assert cased.scheme == corpus.scheme
    assert recase(corpus, "as-is") is corpus
    assert corpus.words.tolist()[0] == "EU"  # the original is untouched
    with pytest.raises(ValueError, match="unknown case 'lowercase'"):
        recase(corpus, "lowercase")


def test_with_case_variants_appends_copies(tmp_path):
    corpus = read_conll(write(tmp_path, FOUR_COLUMNS))
    both = with_case_variants(corpus, ["lower", "upper"])
    n = corpus.n_tokens
    assert both.words.tolist() == corpus.words.tolist() + [w.lower() for w in corpus.words] + [w.upper() for w in corpus.words]
    assert both.tags.tolist() == corpus.tags.tolist() * 3
    assert both.lengths.tolist() == corpus.lengths.tolist() * 3
    assert len(both) == 3 * len(corpus) and both.n_tokens == 3 * n
    starts = corpus.spans()[0].start
    assert both.spans()[0].start.tolist() == [s + n * k for k in range(3) for s in starts]
    assert with_case_variants(corpus, []) is corpus
