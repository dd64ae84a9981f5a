"""Windows, casing classes, the vocabulary and featurisation."""

import numpy as np
import pandas as pd

from nerwin.embeddings import Pretrained, load_pretrained
from nerwin.features import CASINGS, PAD_LEFT, PAD_RIGHT, UNK, Suffixes, Vocabulary, casing, windows

LEFT, RIGHT = 1, 2


def tiny_pretrained():
    words = ["the", "paris", "rare", "london", "0000"]
    vectors = np.arange(len(words) * 3, dtype=np.float32).reshape(len(words), 3) + 0.5
    return Pretrained(pd.Index(words), vectors, "tiny")


# ---------------------------------------------------------------- windows


def test_windows_size_5():
    ids = np.arange(10, 17)
    out = windows(ids, np.array([3, 4]), 5, LEFT, RIGHT)
    assert out.dtype == np.int32
    assert out.tolist() == [
        [1, 1, 10, 11, 12],
        [1, 10, 11, 12, 2],
        [10, 11, 12, 2, 2],
        [1, 1, 13, 14, 15],
        [1, 13, 14, 15, 16],
        [13, 14, 15, 16, 2],
        [14, 15, 16, 2, 2],
    ]


def test_windows_size_3():
    ids = np.arange(10, 17)
    out = windows(ids, np.array([3, 4]), 3, LEFT, RIGHT)
    assert out.tolist() == [
        [1, 10, 11],
        [10, 11, 12],
        [11, 12, 2],
        [1, 13, 14],
        [13, 14, 15],
        [14, 15, 16],
        [15, 16, 2],
    ]


def test_windows_one_token_sentences():
    out = windows(np.array([7, 8, 9]), np.array([1, 1, 1]), 5, LEFT, RIGHT)
    assert out.tolist() == [[1, 1, 7, 2, 2], [1, 1, 8, 2, 2], [1, 1, 9, 2, 2]]


def test_windows_size_1_and_empty():
    assert windows(np.array([4, 5]), np.array([2]), 1, LEFT, RIGHT).tolist() == [[4], [5]]
    out = windows(np.zeros(0, np.int64), np.zeros(0, np.int64), 5, LEFT, RIGHT)
    assert out.shape == (0, 5)


def test_windows_wide_window_never_crosses_sentences():
    ids = np.arange(100, 110)
    lengths = np.array([2, 5, 3])
    out = windows(ids, lengths, 9, LEFT, RIGHT)
    sentence = np.repeat(np.arange(3), lengths)
    half = 4
    for i in range(10):
        for k in range(9):
            j = i + k - half
            if j < 0 or (j < 10 and sentence[j] < sentence[i]):
                assert out[i, k] == LEFT
            elif j >= 10 or sentence[j] > sentence[i]:
                assert out[i, k] == RIGHT
            else:
                assert out[i, k] == ids[j]


# ---------------------------------------------------------------- casing


def test_casing_classes():
    words = ["paris", "PARIS", "Paris", "1996", "McDonald", ",", "A", "B2B", "été", "Été", "paris"]
    expected = ["lower", "upper", "title", "digit", "other", "other", "upper", "digit", "lower", "title", "lower"]
    assert casing(words).tolist() == [CASINGS.index(c) for c in expected]
    assert casing(words).tolist() == [1, 2, 3, 4, 5, 5, 2, 4, 1, 3, 1]
    assert casing([]).shape == (0,)
    assert 0 not in casing(words)


# ---------------------------------------------------------------- Vocabulary


CORPUS = ["The", "the", "Paris", "x", "x", "y", "rare", "zeta", "zeta"]


def test_vocabulary_specials_first():
    v = Vocabulary(["a", "<unk>", "b"])
    assert list(v.words) == [UNK, PAD_LEFT, PAD_RIGHT, "a", "b"]
    assert len(v) == 5


def test_build_min_count_without_pretrained():
    v = Vocabulary.build(CORPUS, None, min_count=2)
    # counts after lower-casing: the 2, x 2, zeta 2, paris 1, y 1, rare 1
    assert list(v.words) == [UNK, PAD_LEFT, PAD_RIGHT, "the", "x", "zeta"]
    v1 = Vocabulary.build(CORPUS, None, min_count=1)
    assert list(v1.words)[3:] == ["the", "x", "zeta", "paris", "rare", "y"]
    v3 = Vocabulary.build(CORPUS, None, min_count=3)
    assert list(v3.words) == [UNK, PAD_LEFT, PAD_RIGHT]


def test_build_keeps_words_with_pretrained_vectors():
    v = Vocabulary.build(CORPUS, tiny_pretrained(), min_count=2)
    # paris and rare are seen once but have vectors; y has none
    assert list(v.words)[3:] == ["the", "x", "zeta", "paris", "rare"]


def test_build_is_deterministic():
    rng = np.random.default_rng(0)
    first = list(Vocabulary.build(CORPUS, tiny_pretrained(), min_count=1).words)
    for _ in range(5):
        shuffled = list(rng.permutation(np.array(CORPUS, dtype=object)))
        assert list(Vocabulary.build(shuffled, tiny_pretrained(), min_count=1).words) == first


def test_build_case_sensitive_and_digits():
    v = Vocabulary.build(["The", "the", "The"], None, min_count=2, lowercase=False)
    assert list(v.words)[3:] == ["The"]
    assert v.lowercase is False
    v = Vocabulary.build(["1996", "2001", "7"], None, min_count=2, digits=True)
    assert list(v.words)[3:] == ["0000"]


def test_featurize_without_pretrained():
    v = Vocabulary(["the", "x"])
    w = v.featurize(np.array(["Paris", "the", "X", "zzz"], dtype=object), np.array([4]), 1)
    assert w.words[:, 0].tolist() == [0, 3, 4, 0]
    assert w.extra.shape[0] == 0
    assert len(w) == 4


def test_featurize_windows_and_casing():
    v = Vocabulary(["the", "x"])
    w = v.featurize(np.array(["The", "x", "Q", "the"], dtype=object), np.array([2, 2]), 3)
    assert w.words.tolist() == [[1, 3, 4], [3, 4, 2], [1, 0, 3], [0, 3, 2]]
    assert w.casing.tolist() == [[0, 3, 1], [3, 1, 0], [0, 2, 1], [2, 1, 0]]


def test_featurize_uncased_marks_sentences_without_case_contrast():
    vocab = Vocabulary(["peter"])
    sentences = [["Peter", "met", "EU", "in", "1996", "."],   # cased: every word keeps its class
                 ["peter", "met", "eu", "in", "1996", "."],   # all lower
                 ["PETER", "MET", "EU", "."],                 # all caps
                 ["'s", "Ok"]]                                # a title word gives contrast
    words = [w for s in sentences for w in s]
    lengths = [len(s) for s in sentences]
    plain = vocab.featurize(words, lengths, 1).casing[:, 0]
    flat = vocab.featurize(words, lengths, 1, uncased=True).casing[:, 0]
    names = [CASINGS[i] for i in flat]
    assert names == ["title", "lower", "upper", "lower", "digit", "other",
                     "uncased", "uncased", "uncased", "uncased", "digit", "other",
                     "uncased", "uncased", "uncased", "other",
                     "lower", "title"]
    assert [CASINGS[i] for i in plain] == [CASINGS[casing([w])[0]] for w in words]


def test_featurize_falls_back_to_pretrained():
    pre = tiny_pretrained()
    v = Vocabulary(["the", "x"])
    words = np.array(["Paris", "the", "zzz", "London", "paris", "x"], dtype=object)
    w = v.featurize(words, np.array([6]), 1, pre)
    ids = w.words[:, 0]
    V = len(v)
    assert V == 5
    assert ids[1] == 3 and ids[5] == 4  # in the vocabulary
    assert ids[2] == v.lookup([UNK])[0]  # no vector anywhere
    assert ids[0] == ids[4] >= V  # same extra row for Paris and paris
    assert ids[3] >= V and ids[3] != ids[0]
    assert sorted({int(ids[0]), int(ids[3])}) == [V, V + 1]
    assert w.extra.shape == (2, 3)
    assert w.extra.dtype == np.float32
    np.testing.assert_array_equal(w.extra[ids[0] - V], pre.vectors[pre.words.get_loc("paris")])
    np.testing.assert_array_equal(w.extra[ids[3] - V], pre.vectors[pre.words.get_loc("london")])


def test_featurize_pretrained_but_nothing_missing_or_nothing_found():
    pre = tiny_pretrained()
    v = Vocabulary(["the"])
    w = v.featurize(np.array(["the", "The"], dtype=object), np.array([2]), 1, pre)
    assert w.words[:, 0].tolist() == [3, 3]
    assert w.extra.shape[0] == 0
    w = v.featurize(np.array(["the", "qqq"], dtype=object), np.array([2]), 1, pre)
    assert w.words[:, 0].tolist() == [3, 0]
    assert w.extra.shape[0] == 0


def test_featurize_lowercase_off():
    v = Vocabulary(["The"], lowercase=False)
    w = v.featurize(np.array(["The", "the"], dtype=object), np.array([2]), 1)
    assert w.words[:, 0].tolist() == [3, 0]


def test_featurize_digit_normalisation():
    pre = tiny_pretrained()
    v = Vocabulary(["00"], digits=True)
    w = v.featurize(np.array(["12", "1996", "ab1"], dtype=object), np.array([3]), 1, pre)
    assert w.words[0, 0] == 3
    assert w.words[1, 0] == len(v)  # "0000" found among the pretrained vectors
    assert w.words[2, 0] == 0
    np.testing.assert_array_equal(w.extra[0], pre.vectors[4])
    v_plain = Vocabulary(["00"], digits=False)
    assert v_plain.featurize(np.array(["12"], dtype=object), np.array([1]), 1).words[0, 0] == 0
    assert v.keys(["A1b2"]).tolist() == ["a0b0"]


# ---------------------------------------------------------------- suffixes


def test_suffix_keys_short_words_digits_and_unicode():
    sfx = Suffixes([], 3)
    words = ["Nashville", "of", "I", "Kraków", "ZÜRICH", "İzmir", "Chinese", "1996", "x-ray", ""]
    assert sfx.keys(words).tolist() == ["lle", "of", "i", "ków", "ich", "mir", "ese", "996", "ray", ""]
    assert Suffixes([], 3, digits=True).keys(["1996", "F16"]).tolist() == ["000", "f00"]
    assert Suffixes([], 3, lowercase=False).keys(["ZÜRICH", "of"]).tolist() == ["ICH", "of"]
    assert Suffixes([], 5).keys(["Hamburg", "Nashville"]).tolist() == ["mburg", "ville"]
    assert Suffixes([], 1).keys(["Paris", "Oslo"]).tolist() == ["s", "o"]


def test_suffix_table_counts_per_token_then_sorts_by_frequency_and_alphabet():
    corpus = ["Hamburg", "Nürnberg", "Berg", "the", "THE", "of", "Paris", "Oslo", "zzz"]
    sfx = Suffixes.learn(corpus, 3, min_count=2)
    assert list(sfx.words) == [UNK, PAD_LEFT, PAD_RIGHT, "erg", "the"]   # both seen twice: alphabetical
    table = list(Suffixes.learn(corpus, 3, min_count=1).words)
    assert table[3:] == ["erg", "the", "of", "ris", "slo", "urg", "zzz"]
    rng = np.random.default_rng(0)
    for _ in range(5):
        shuffled = list(rng.permutation(np.array(corpus, dtype=object)))
        assert list(Suffixes.learn(shuffled, 3, min_count=1).words) == table
    assert sfx.length == 3 and sfx.lowercase and not sfx.digits


def test_featurize_gives_suffix_windows_with_padding_and_unk():
    vocab, sfx = Vocabulary(["the"]), Suffixes(["erg", "the", "of"], 3)
    words = np.array(["Hamburg", "Berg", "of", "THE", "Paris"], dtype=object)
    w = vocab.featurize(words, np.array([3, 2]), 3, suffixes=sfx)
    unk, erg, the, of = 0, 3, 4, 5
    assert w.suffix.tolist() == [[sfx.pad_left, unk, erg], [unk, erg, of], [erg, of, sfx.pad_right],
                                 [sfx.pad_left, the, unk], [the, unk, sfx.pad_right]]
    assert w.suffix.dtype == np.int32
    assert vocab.featurize(words, np.array([5]), 3).suffix.shape == (5, 0)   # no suffix table


def test_real_glove():
    pre = load_pretrained("glove-6b-50d")
    assert pre.vectors.shape == (400000, 50)
    assert pre.dim == 50
    assert pre.words[0] == "the"
    found = pre.lookup(["paris", "zzzzqqq"])
    assert found[0] >= 0 and found[1] == -1
    assert pre.words[found[0]] == "paris"


# ---------------------------------------------------------------- per distinct word == per token

from hypothesis import given, settings, strategies as st  # noqa: E402

from nerwin.embeddings import factorize  # noqa: E402
from nerwin.features import _casing  # noqa: E402

_WORDS = st.lists(st.sampled_from(["the", "The", "THE", "Paris", "paris", "x", "zzz", "1996", "12", "ab1",
                                   "London", "rare", "", "é", "É", "0000", "q.e.d"]), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(_WORDS, st.booleans(), st.booleans())
def test_featurize_equals_the_plain_rule_token_by_token(words, lowercase, digits):
    """Computing keys, ids, casing and suffixes once per distinct word gives every token what
    looking it up on its own gives."""
    pre = tiny_pretrained()
    v = Vocabulary(["the", "x", "00", "The"], lowercase, digits)
    sfx = Suffixes(["he", "HE", "00", "é"], 2, lowercase, digits)
    w = v.featurize(np.array(words, dtype=object), np.array([len(words)]), 1, pre, suffixes=sfx)
    E = np.arange(len(v) * 3, dtype=np.float32).reshape(len(v), 3) - 100   # a stand-in table
    table = np.vstack([E, w.extra]) if w.extra.size else E
    for i, word in enumerate(words):
        key = v.keys([word])[0]
        own = v.lookup([key])[0]
        row = pre.lookup([key])[0]
        expected = E[own] if own >= 0 else (pre.vectors[row] if row >= 0 else E[v.lookup([UNK])[0]])
        np.testing.assert_array_equal(table[w.words[i, 0]], expected, err_msg=word)
        assert w.casing[i, 0] == _casing(word)
        suffix = key[-2:]                                        # the plain rule, word by word
        assert w.suffix[i, 0] == (sfx.lookup([suffix])[0] if suffix in sfx.words else 0), word


@given(st.lists(st.text(max_size=3), max_size=30))
def test_factorize_gives_distinct_words_in_first_order_and_codes(words):
    uniq, codes = factorize(words)
    assert uniq == list(dict.fromkeys(words))
    assert [uniq[c] for c in codes] == words
