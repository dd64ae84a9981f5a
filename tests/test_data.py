"""CoNLL reading and the flat Corpus layout; corpora of every hostile kind either read
correctly or refused in one line naming the file and line, by the reader and by the commands."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerwin.data import Corpus, read_conll, recase, with_case_variants
from nerwin.errors import DataError
from nerwin.files import LONGEST_LINE
from nerwin.tagger import Tagger

from conftest import SAMPLE
from helpers import BAD, assert_fails, invoke

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


def test_docstart_lines_start_documents(tmp_path):
    docs = "-DOCSTART- O\n\na O\n\nb O\n\n-DOCSTART- O\n\n-DOCSTART- O\nc O\nd O\n\n-DOCSTART- O\ne O\n"
    c = read_conll(write(tmp_path, docs))
    assert c.lengths.tolist() == [1, 1, 2, 1]
    assert c.documents.tolist() == [0, 2, 3]              # an empty document leaves no trace
    assert read_conll(write(tmp_path, "a O\n\nb O\n")).document_starts.tolist() == [0]
    assert read_conll(write(tmp_path, "a O\n-DOCSTART- O\nb O\n")).documents.tolist() == [0, 1]
    assert Corpus.from_sentences([["a"], ["b"]]).document_starts.tolist() == [0]
    assert c.subset([3, 0, 1, 2]).documents.tolist() == [0, 1, 3]
    assert with_case_variants(c, ["lower"]).documents.tolist() == [0, 2, 3, 4, 6, 7]
    assert recase(c, "upper").documents.tolist() == [0, 2, 3]


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


def read_error(path, **kw) -> str:
    with pytest.raises(DataError) as info:
        read_conll(path, **kw)
    message = str(info.value)
    assert "\n" not in message
    return message


# (name, bytes, words, sentence lengths, tags)
GOOD_CORPORA = [
    ("nbsp", (BAD / "nbsp.conll").read_bytes(),
     ["New\u00a0York", "is", "big", "10\u00a0000", "people"], [3, 2], ["B-LOC", "O", "O", "O", "O"]),
    ("mixed tabs and spaces, trailing tabs",
     b"New\tNNP  B-LOC\t\nYork \t NNP\tI-LOC \t\n\t\nhi UH\tO\t\t\n",
     ["New", "York", "hi"], [2, 1], ["B-LOC", "I-LOC", "O"]),
    ("crlf", b"a O\r\nb B-PER\r\n\r\nc O\r\n", ["a", "b", "c"], [2, 1], ["O", "B-PER", "O"]),
    ("cr only (old Mac)", b"a O\rb B-PER\r\rc O\r", ["a", "b", "c"], [2, 1], ["O", "B-PER", "O"]),
    ("no final newline", b"a O\n\nb B-LOC\nc I-LOC", ["a", "b", "c"], [1, 2], ["O", "B-LOC", "I-LOC"]),
    ("blank lines of spaces and tabs", b"a O\nb O\n   \t \nc O\n\t\n \nd O\n",
     ["a", "b", "c", "d"], [2, 1, 1], ["O"] * 4),
    ("double blank lines", b"\n\na O\n\n\n\nb O\nc O\n\n\n", ["a", "b", "c"], [1, 2], ["O"] * 3),
    ("utf-8 bom", b"\xef\xbb\xbfZ\xc3\xbcrich B-LOC\nist O\n", ["Zürich", "ist"], [2], ["B-LOC", "O"]),
    ("docstart then sentences", b"-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\n\n-DOCSTART- -X- O O\nIt PRP B-NP O\n",
     ["EU", "It"], [1, 1], ["B-ORG", "O"]),
]


@pytest.mark.parametrize("name, content, words, lengths, tags", GOOD_CORPORA, ids=[c[0] for c in GOOD_CORPORA])
def test_corpus_read_correctly(tmp_path, name, content, words, lengths, tags):
    corpus = read_conll(write(tmp_path, content))
    assert corpus.words.tolist() == words
    assert corpus.lengths.tolist() == lengths
    assert corpus.tags.tolist() == tags


@pytest.mark.parametrize("name, content, words, lengths, tags", GOOD_CORPORA[:8], ids=[c[0] for c in GOOD_CORPORA[:8]])
def test_corpus_read_correctly_by_eval(tiny_model, tmp_path, name, content, words, lengths, tags):
    result = invoke("eval", "--model", tiny_model, "--data", write(tmp_path, content), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tokens"] == len(words)


def test_nbsp_stays_inside_the_token(tmp_path):
    """Columns are split on spaces and tabs only: U+00A0 (and other Unicode spaces) are part of a word."""
    corpus = read_conll(write(tmp_path, "a\u00a0b\u2009c NN O\nd\u3000e NN B-LOC\n"))
    assert corpus.words.tolist() == ["a\u00a0b\u2009c", "d\u3000e"]
    assert corpus.tags.tolist() == ["O", "B-LOC"]


def test_latin1_read_with_its_encoding(tmp_path):
    path = write(tmp_path, "caf\xe9 O\nna\xefve O\n\nS\xe3o B-LOC\n".encode("latin-1"))
    corpus = read_conll(path, encoding="latin-1")
    assert corpus.words.tolist() == ["café", "naïve", "São"]
    message = read_error(path)
    assert message.startswith(f"{path}:1: byte 3 (0xe9) is not valid utf-8")


def test_latin1_read_with_its_encoding_by_eval(tiny_model, tmp_path):
    path = write(tmp_path, "caf\xe9 O\n\nS\xe3o B-LOC\n".encode("latin-1"))
    assert_fails(invoke("eval", "--model", tiny_model, "--data", path), 1, f"{path}:1:", "byte 3 (0xe9)")
    result = invoke("eval", "--model", tiny_model, "--data", path, "--encoding", "latin-1", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tokens"] == 2


CRLF_MID = b"a O\r\nb O\r\n\r\nc\xff\xfe O\r\n"
# (name, bytes or fixture file, line or None, needles)
BAD_CORPORA = [
    ("inconsistent columns", "columns_inconsistent.conll", 4, ["expected 3 columns as on line 1, found 2"]),
    ("one column", "columns_one.conll", 1, ["expected at least 2 columns"]),
    ("extra column mid-file", b"Paris B-LOC\nis O\nnice O extra\n", 3, ["expected 2 columns as on line 1, found 3"]),
    ("empty file", b"", None, ["no sentences found", "the file is empty"]),
    ("only blank lines", b"\n \t\n\r\n\n", None, ["no sentences found", "only blank lines"]),
    ("bom only", b"\xef\xbb\xbf", None, ["no sentences found"]),
    ("docstart -X- -X- O", "docstart_conll03.conll", None, ["no sentences found", "only -DOCSTART- lines"]),
    ("docstart -X- -X- O, blank", "docstart_conll03_blank.conll", None, ["no sentences found", "-DOCSTART-"]),
    ("docstart -X- O O", "docstart_xoo.conll", None, ["no sentences found", "-DOCSTART-"]),
    ("docstart -X- O O, blanks", "docstart_xoo_blank.conll", None, ["no sentences found", "-DOCSTART-"]),
    ("invalid utf-8 mid-file", b"a O\n\nb\xff O\n", 3, ["byte 6 (0xff) is not valid utf-8"]),
    ("invalid utf-8 after crlf", CRLF_MID, 4, ["byte 13 (0xff) is not valid utf-8"]),
    ("latin-1 byte", "Z\xfcrich B-LOC\n\nist O\n".encode("latin-1"), 1, ["byte 1 (0xfc)"]),
    ("tag: bare type", "tag_bare_type.conll", 4, ["unknown tag 'PER'"]),
    ("tag: bare prefix", "tag_bare_prefix.conll", 4, ["unknown tag 'B'"]),
    ("tag: lowercase o", "tag_lowercase_o.conll", 5, ["unknown tag 'o'"]),
    ("tag: unknown prefix", "tag_unknown_prefix.conll", 4, ["unknown tag 'X-PER'"]),
    ("tag: empty type", "tag_empty_type.conll", 4, ["unknown tag 'B-'"]),
    ("tag: nbsp after O", "a O\nb O\u00a0\n".encode("utf-8"), 2, ["unknown tag 'O\\xa0'"]),
]


def bad_corpus(tmp_path, source):
    return BAD / source if isinstance(source, str) else write(tmp_path, source)


@pytest.mark.parametrize("name, source, line, needles", BAD_CORPORA, ids=[c[0] for c in BAD_CORPORA])
def test_corpus_refused(tmp_path, name, source, line, needles):
    path = bad_corpus(tmp_path, source)
    message = read_error(path)
    assert message.startswith(f"{path}:{line}: " if line else f"{path}: ")
    for needle in needles:
        assert needle in message


@pytest.mark.parametrize("name, source, line, needles", BAD_CORPORA, ids=[c[0] for c in BAD_CORPORA])
def test_corpus_refused_by_eval(tiny_model, tmp_path, name, source, line, needles):
    path = bad_corpus(tmp_path, source)
    assert_fails(invoke("eval", "--model", tiny_model, "--data", path), 1,
                 f"{path}:{line}: " if line else f"{path}: ", *needles)


def test_ten_megabyte_word_is_read(tmp_path):
    word = "x" * 10_000_000
    path = write(tmp_path, f"a O\n{word} B-LOC\n")
    corpus = read_conll(path)
    assert corpus.words[1] == word and corpus.tags.tolist() == ["O", "B-LOC"]


def test_ten_megabyte_line_of_columns_is_refused_briefly(tmp_path):
    path = write(tmp_path, "a O\n" + "w " * 5_000_000 + "O\n")
    message = read_error(path)
    assert message == f"{path}:2: expected 2 columns as on line 1, found 5000001"


def test_ten_megabyte_tag_is_refused_with_a_short_message(tiny_model, tmp_path):
    path = write(tmp_path, "a O\nb B" + "Q" * 10_000_000 + "\n")
    message = read_error(path)
    assert message.startswith(f"{path}:2: unknown tag 'BQQQ") and len(message) < 300
    result = invoke("eval", "--model", tiny_model, "--data", path)
    assert_fails(result, 1, f"{path}:2: unknown tag")
    assert len(result.output) < 300


def test_missing_corpus_and_folder_by_eval(tiny_model, tmp_path):
    assert_fails(invoke("eval", "--model", tiny_model, "--data", tmp_path / "nope.conll"), 1,
                 f"{tmp_path / 'nope.conll'}: no such file")
    assert_fails(invoke("eval", "--model", tiny_model, "--data", tmp_path), 1, f"{tmp_path}: is a folder")


def test_ill_formed_iob2_counted_at_load_and_read_like_conlleval():
    path = BAD / "ill_formed_iob2.conll"
    corpus = read_conll(path)
    assert corpus.scheme == "iob2"  # a few I-starts do not make an IOB2 file IOB1
    assert corpus.repairs == 3
    assert corpus.repair_warning() == (
        f"{path}: 3 ill-formed iob2 tags read as the CoNLL scorer reads them "
        f"(first at {path}:4: 'I-PER' after 'O')")
    sp, types = corpus.spans()
    named = [(int(s), int(e), types[int(l)]) for s, e, l in zip(sp.start, sp.end, sp.label)]
    assert named == [(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC"),
                     (7, 8, "PER"), (8, 9, "ORG"), (9, 10, "MISC"), (11, 12, "LOC"), (14, 15, "LOC")]
    assert corpus.subset([1]).repairs == 1


def test_ill_formed_iobes_counted_at_load():
    corpus = read_conll(BAD / "ill_formed_iobes.conll")
    assert corpus.scheme == "iobes" and corpus.repairs == 3
    assert read_conll(SAMPLE / "train.conll").repairs == 0
    assert read_conll(SAMPLE / "train.conll").repair_warning() is None


def test_bad_training_corpus_and_type_only_in_dev(tmp_path):
    args = ["train", "--set", "train.epochs=1", "--set", "model.hidden=[5]", "--set", 'embeddings.source="random"',
            "--set", f'data.dev="{BAD / "unseen_type.conll"}"', "--quiet"]
    bad = BAD / "tag_bare_type.conll"
    assert_fails(invoke(*args, "--set", f'data.train="{bad}"', "--out", tmp_path / "bad"), 1, f"{bad}:4: unknown tag 'PER'")
    result = invoke(*args, "--set", f'data.train="{BAD / "ill_formed_iob2.conll"}"', "--out", tmp_path / "ok")
    assert result.exit_code == 0 and result.exception is None, result.output
    assert Tagger.load(tmp_path / "ok").labels.types == ["LOC", "MISC", "ORG", "PER"]


def test_ill_formed_corpus_is_scored_by_eval(tiny_model):
    result = invoke("eval", "--model", tiny_model, "--data", BAD / "ill_formed_iob2.conll", "--format", "json")
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    assert scored["gold_entities"] == 8 and scored["scheme"] == "iob2"


def test_type_only_in_test_is_a_miss_with_a_warning(tiny_model):
    path = BAD / "unseen_type.conll"
    result = invoke("eval", "--model", tiny_model, "--data", path, "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert f"nerwin: warning: {path}: types the model never saw in training, scored as misses: EVENT" in result.stderr
    scored = json.loads(result.stdout)
    assert scored["per_type"]["EVENT"]["recall"] == 0.0
    assert scored["per_type"]["EVENT"]["support"] == 2 and scored["per_type"]["EVENT"]["fn"] == 2


FRAGMENTS = [b"a", b"Paris", b" ", b"  ", b"\t", b"\n", b"\r\n", b"\r", b"O", b"B-PER", b"I-LOC", b"E-X",
             b"S-X", b"B-", b"X-PER", b"-DOCSTART-", b"\xc2\xa0", b"\xef\xbb\xbf", b"\xff", b"\xe9", b"\x00",
             b"\x0c", b"\xe2\x80\xa8"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=200),
                 st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(b"".join)),
       st.booleans())
def test_any_bytes_parse_or_raise_data_error(tmp_path, content, require_tags):
    path = write(tmp_path, content)
    try:
        corpus = read_conll(path, require_tags=require_tags)
    except DataError as e:
        assert "\n" not in str(e) and str(path) in str(e)
    else:
        assert corpus.n_tokens == int(corpus.lengths.sum()) > 0
        assert corpus.lengths.min() > 0
        assert len(corpus.words) == len(corpus.lines)


TOKEN = st.text(st.characters(blacklist_characters=" \t\n\r\ufeff\0", blacklist_categories=("Cs",)),
                min_size=1, max_size=8).filter(lambda w: not w.isspace() and w != "-DOCSTART-")


TAG = st.sampled_from(["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "I-MISC", "B-ORG-X"])


SENTENCE = st.lists(st.tuples(TOKEN, TAG), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(SENTENCE, min_size=1, max_size=5), st.integers(1, 3), st.sampled_from([" ", "\t", " \t "]),
       st.sampled_from(["\n", "\r\n"]), st.booleans(), st.booleans())
def test_written_corpus_round_trips(tmp_path, sentences, columns, sep, newline, final_newline, bom):
    rows = []
    for sentence in sentences:
        rows += [sep.join([word] + ["X"] * (columns - 1) + [tag]) + (sep if columns == 3 else "") for word, tag in sentence]
        rows.append("")
    text = newline.join(rows)
    if not final_newline:
        text = text.rstrip(newline)
    path = write(tmp_path, ("\ufeff" if bom else "") + text)
    corpus = read_conll(path)
    assert corpus.words.tolist() == [w for s in sentences for w, _ in s]
    assert corpus.tags.tolist() == [t for s in sentences for _, t in s]
    assert corpus.lengths.tolist() == [len(s) for s in sentences]
    assert corpus.repairs == int(np.count_nonzero(corpus.ill_formed()))
