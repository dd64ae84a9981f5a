"""Reading word-vector text files (hostile ones too) and normalising lookup keys."""

import gzip

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerwin.embeddings import Pretrained, coverage, load_pretrained, load_text, normalize
from nerwin.errors import DataError

from conftest import SAMPLE
from helpers import BAD, assert_fails, invoke


def write(tmp_path, text, name="vectors.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_glove_format(tmp_path):
    path = write(tmp_path, "the 0.1 0.2 0.3\nparis 1 2 3\n, -1.5 0 2e-1\n")
    p = load_text(path)
    assert isinstance(p, Pretrained)
    assert list(p.words) == ["the", "paris", ","]
    assert p.dim == 3
    assert p.vectors.shape == (3, 3)
    assert p.vectors.dtype == np.float32
    np.testing.assert_allclose(p.vectors, [[0.1, 0.2, 0.3], [1, 2, 3], [-1.5, 0, 0.2]], rtol=1e-6)
    assert p.source == str(path)
    assert p.lookup(["paris", "nope", "the"]).tolist() == [1, -1, 0]


def test_load_pretrained_by_path(tmp_path):
    path = write(tmp_path, "a 1 2\n")
    p = load_pretrained(str(path))
    assert list(p.words) == ["a"]
    np.testing.assert_array_equal(p.vectors, [[1, 2]])


def test_word2vec_header(tmp_path):
    path = write(tmp_path, "2 4\nking 1 2 3 4\nqueen 5 6 7 8\n")
    p = load_text(path)
    assert list(p.words) == ["king", "queen"]
    assert p.vectors.shape == (2, 4)
    np.testing.assert_array_equal(p.vectors[1], [5, 6, 7, 8])


def test_crlf_and_blank_lines(tmp_path):
    path = write(tmp_path, "a 1 2\r\n\r\nb 3 4\r\n")
    p = load_text(path)
    assert list(p.words) == ["a", "b"]
    np.testing.assert_array_equal(p.vectors, [[1, 2], [3, 4]])


def test_token_containing_spaces(tmp_path):
    path = write(tmp_path, "2 3\nnew york 0.5 0.25 1\nthe 1 2 3\n")
    p = load_text(path)
    assert list(p.words) == ["new york", "the"]
    np.testing.assert_array_equal(p.vectors[0], [0.5, 0.25, 1])


def test_token_containing_spaces_glove(tmp_path):
    path = write(tmp_path, "the 1 2\nlos angeles 3 4\n")
    p = load_text(path)
    assert list(p.words) == ["the", "los angeles"]
    np.testing.assert_array_equal(p.vectors[1], [3, 4])


def test_wrong_dimension_names_file_and_line(tmp_path):
    path = write(tmp_path, "a 1 2 3\nb 4 5 6\n\nc 7 8\n")
    with pytest.raises(DataError) as info:
        load_text(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}:4: ")
    assert "expected a word and 3 numbers, found 3 fields" in msg


def test_wrong_dimension_after_header(tmp_path):
    path = write(tmp_path, "2 3\na 1 2 3\nb 4 5\n")
    with pytest.raises(DataError) as info:
        load_text(path)
    assert str(info.value).startswith(f"{path}:3: ")


def test_non_numeric_value(tmp_path):
    path = write(tmp_path, "a 1 2\nb x 4\n")
    with pytest.raises(DataError, match=r":2: expected a word and 2 numbers"):
        load_text(path)


def test_duplicate_word_first_wins(tmp_path):
    path = write(tmp_path, "a 1 2\nb 3 4\na 5 6\nc 7 8\n")
    p = load_text(path)
    assert list(p.words) == ["a", "b", "c"]
    np.testing.assert_array_equal(p.vectors, [[1, 2], [3, 4], [7, 8]])
    assert p.lookup(["a"]).tolist() == [0]


def test_truncated_word2vec_file(tmp_path):
    path = write(tmp_path, "3 2\na 1 2\nb 3 4\n")
    with pytest.raises(DataError) as info:
        load_text(path)
    msg = str(info.value)
    assert str(path) in msg
    assert "promises 3 vectors, found 2" in msg


def test_gzip(tmp_path):
    path = tmp_path / "vectors.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("1 2\nzürich 0.5 -0.5\n")
    p = load_text(path)
    assert list(p.words) == ["zürich"]
    np.testing.assert_array_equal(p.vectors, [[0.5, -0.5]])


def test_bad_gzip(tmp_path):
    path = write(tmp_path, "a 1 2\n", name="vectors.gz")
    with pytest.raises(DataError, match="cannot read word vectors"):
        load_text(path)


def test_missing_file(tmp_path):
    path = tmp_path / "none.txt"
    with pytest.raises(DataError) as info:
        load_text(path)
    assert str(path) in str(info.value) and "no such file" in str(info.value)


@pytest.mark.parametrize("text", ["", "\n", "onlyaword\n"])
def test_empty_or_vectorless_file(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        load_text(path)
    assert str(info.value).startswith(f"{path}:1: ")


def test_header_only(tmp_path):
    path = write(tmp_path, "0 5\n")
    with pytest.raises(DataError, match="no vectors found"):
        load_text(path)


def test_invalid_utf8(tmp_path):
    path = write(tmp_path, b"a 1 2\n\xff 3 4\n")
    with pytest.raises(DataError, match="cannot read word vectors"):
        load_text(path)


# ---------------------------------------------------------------- normalize


def test_normalize():
    words = ["Paris", "PARIS", "1996", "A1b2", "été", "Paris"]
    assert normalize(words).tolist() == ["paris", "paris", "1996", "a1b2", "été", "paris"]
    assert normalize(words, lowercase=False).tolist() == words
    assert normalize(words, lowercase=True, digits=True).tolist() == ["paris", "paris", "0000", "a0b0", "été", "paris"]
    assert normalize(words, lowercase=False, digits=True).tolist() == ["Paris", "PARIS", "0000", "A0b0", "été", "Paris"]
    assert normalize([]).shape == (0,)
    assert normalize(np.array(["X"], dtype=object)).dtype == object


def test_pretrained_lookup_on_hand_made_table():
    p = Pretrained(pd.Index(["a", "b"]), np.eye(2, dtype=np.float32), "hand")
    assert p.dim == 2
    assert p.lookup(np.array(["b", "c", "a"], dtype=object)).tolist() == [1, -1, 0]


@pytest.mark.parametrize("order", ["C", "F"])
def test_rows_of_a_memory_mapped_matrix_are_read_not_mapped(tmp_path, order):
    matrix = np.asarray(np.random.default_rng(0).standard_normal((50, 7)), np.float32, order=order)
    np.save(tmp_path / "m.npy", matrix)
    p = Pretrained(["w"] * 50, np.load(tmp_path / "m.npy", mmap_mode="r"), "hand")
    rows = np.array([3, 3, 0, 49, -1, 17])
    got = p.rows(rows)
    assert got.dtype == np.float32 and got.shape == (6, 7)
    np.testing.assert_array_equal(got, matrix[rows])
    assert p.rows([]).shape == (0, 7)
    with pytest.raises(IndexError):
        p.rows([50])


def test_rows_of_glove_equal_indexing():
    p = load_pretrained("glove-6b-50d")
    rows = np.random.default_rng(1).integers(0, len(p.vectors), 300)
    np.testing.assert_array_equal(p.rows(rows), np.asarray(p.vectors[rows], np.float32))
    in_memory = Pretrained(["a", "b"], np.eye(2, dtype=np.float64), "hand")
    np.testing.assert_array_equal(in_memory.rows([1, 0]), np.eye(2, dtype=np.float32)[[1, 0]])


def test_first_word_containing_a_space_without_header(tmp_path):
    path = write(tmp_path, "new york 0.5 0.25\nthe 1 2\nparis 3 4\n")
    p = load_text(path)
    assert list(p.words) == ["new york", "the", "paris"]
    np.testing.assert_array_equal(p.vectors[0], [0.5, 0.25])


def test_gzip_bomb_is_refused_before_inflating(tmp_path):
    path = tmp_path / "bomb.txt.gz"
    with gzip.open(path, "wb") as f:
        line = b"\n" * (1 << 20)
        for _ in range(80):
            f.write(line)
    with pytest.raises(DataError, match=r"bomb.txt.gz: inflates beyond 67,108,864 bytes.*a compressed bomb"):
        load_text(path)


def test_endless_vectors_are_refused():
    with pytest.raises(DataError, match="/dev/zero: a line longer than"):
        load_text("/dev/zero")


def test_vectors_word2vec_header():
    p = load_text(BAD / "vectors_header.txt")
    assert list(p.words) == ["paris", "berlin", "the"] and p.dim == 4
    np.testing.assert_allclose(p.vectors[2], [-1, 0, 1, 0.2], rtol=1e-6)


def test_vectors_word_with_spaces():
    p = load_text(BAD / "vectors_spaces.txt")
    assert list(p.words) == ["new york", "the", "los  angeles"]
    np.testing.assert_array_equal(p.vectors[2], [4, 5, 6])


def test_vectors_duplicate_word_first_wins():
    p = load_text(BAD / "vectors_duplicate.txt")
    assert list(p.words) == ["paris", "berlin", "the"]
    np.testing.assert_array_equal(p.vectors[p.lookup(["paris"])[0]], [1, 2])


def test_vectors_bom_and_crlf(tmp_path):
    p = load_text(write(tmp_path, b"\xef\xbb\xbf2 2\r\nparis 1 2\r\nthe 3 4\r\n", "v.txt"))
    assert list(p.words) == ["paris", "the"]


BAD_VECTORS = [
    ("wrong dimension", "vectors_wrong_dim.txt", 3, ["expected a word and 3 numbers, found 3 fields"]),
    ("header promises more rows", "vectors_truncated_rows.txt", None, ["header promises 4 vectors, found 3"]),
    ("cut mid-vector", "vectors_cut_mid_vector.txt", 4, ["expected a word and 4 numbers", "truncated?"]),
    ("non-numeric field", "vectors_non_numeric.txt", 2, ["expected a word and 3 numbers"]),
    ("nan", "vectors_nan.txt", 2, ["'berlin'", "nan, inf"]),
    ("beyond float32", "vectors_overflow.txt", 3, ["'the'", "float32"]),
]


@pytest.mark.parametrize("name, fixture, line, needles", BAD_VECTORS, ids=[c[0] for c in BAD_VECTORS])
def test_vectors_refused(name, fixture, line, needles):
    path = BAD / fixture
    with pytest.raises(DataError) as info:
        load_text(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: " if line else f"{path}: ") and "\n" not in message
    for needle in needles:
        assert needle in message


def test_vectors_invalid_utf8_and_truncated_gzip(tmp_path):
    path = write(tmp_path, b"a 1 2\nb 3 4\n\xff 3 4\n", "v.txt")
    with pytest.raises(DataError, match=rf"^{path}:3: cannot read word vectors: byte 12 \(0xff\)"):
        load_text(path)
    gz = tmp_path / "v.txt.gz"
    gz.write_bytes(gzip.compress(b"a 1 2\n" * 1000)[:40])
    with pytest.raises(DataError, match=f"^{gz}: cannot read word vectors"):
        load_text(gz)


def test_bad_vectors_stop_training_in_one_line(tmp_path):
    path = BAD / "vectors_wrong_dim.txt"
    result = invoke("train", "--set", f'embeddings.source="{path}"', "--set", f'data.train="{SAMPLE / "train.conll"}"',
                    "--set", f'data.dev="{SAMPLE / "dev.conll"}"', "--out", tmp_path / "run", "--quiet")
    assert_fails(result, 1, f"{path}:3: expected a word and 3 numbers")


def test_coverage():
    p = Pretrained(__import__("pandas").Index(["Paris", "the", "berlin", "0000"]), np.zeros((4, 2), np.float32), "hand")
    words = ["Paris", "Paris", "The", "the", "BERLIN", "1996", "1996", "nowhere", "Paris1"]
    assert coverage(words, p, lowercase=True, digits=True) == {
        "tokens": 9, "exact": 3, "lowercase": 2, "digits": 2, "unknown": 2, "unknown_words": 2, "found": 7 / 9}
    assert coverage(words, p, lowercase=False, digits=False) == {
        "tokens": 9, "exact": 3, "lowercase": 0, "digits": 0, "unknown": 6, "unknown_words": 5, "found": 3 / 9}
    assert coverage(words, None)["unknown"] == 9
    assert coverage([], p) == {"tokens": 0, "exact": 0, "lowercase": 0, "digits": 0, "unknown": 0,
                               "unknown_words": 0, "found": 0.0}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200).map(lambda b: b"2 3\nparis 1 2 3\n" + b if b and b[0] % 2 else b))
def test_any_bytes_as_vectors_load_or_raise_data_error(tmp_path, content):
    try:
        p = load_text(write(tmp_path, content, "v.txt"))
    except DataError as e:
        assert "\n" not in str(e)
    else:
        assert len(p.words) == len(p.vectors) > 0 and np.isfinite(p.vectors).all()


def test_training_says_how_many_tokens_have_a_pretrained_vector(tmp_path):
    """The share comes from coverage() over the training tokens, as the vocabulary looks them up."""
    from nerwin import config as cfg
    from nerwin.data import read_conll
    from nerwin.embeddings import coverage
    from nerwin.train import train

    vectors = write(tmp_path, "paris 1 0\nthe 0 1\n0 1 1\n")
    conll = write(tmp_path, "The O\nParis I-LOC\n1996 O\n\nthe O\nzzz O\n", "train.conll")
    said = []
    config = cfg.load(None, [f'embeddings.source="{vectors}"', f'data.train="{conll}"', f'data.dev="{conll}"',
                             "embeddings.normalize_digits=true", "embeddings.min_count=1", "train.epochs=1",
                             "model.hidden=[4]"])
    train(config, tmp_path / "run", log=said.append)
    expected = coverage(read_conll(conll).words, load_pretrained(str(vectors)), True, True)["found"]
    assert expected == pytest.approx(3 / 5)     # the, Paris, the found; 1996 -> 0000 is not "0"
    assert f"({expected:.1%} of tokens have a pretrained vector)" in said[0]
