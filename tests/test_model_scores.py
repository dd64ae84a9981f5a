"""Prediction (``WindowNetwork.scores``: the training forward pass in batches, without
dropout) against the plain one: the table with the extra rows stacked under E, the windows
concatenated, s = Uᵀ f(... f(W1 x + b1) ...) + c."""

import numpy as np
import pytest

from nerwin.model import WindowNetwork
from nerwin.nn.activations import ACTIVATIONS, PARAMETRIC


def plain_scores(net, word_ids, case_ids, extra, batch_size, suffix_ids=None):
    p = net.params
    E = np.vstack([p["E"], extra.astype(p["E"].dtype)]) if extra.size else p["E"]
    out = []
    for a in range(0, len(word_ids), batch_size):
        w, c = word_ids[a:a + batch_size], case_ids[a:a + batch_size]
        H = E[w].reshape(len(w), -1)
        if "C" in p:
            H = np.concatenate([H, p["C"][c].reshape(len(c), -1)], axis=1)
        if "A" in p:
            sfx = suffix_ids[a:a + batch_size]
            H = np.concatenate([H, p["A"][sfx].reshape(len(sfx), -1)], axis=1)
        for l in range(1, net.n_hidden + 1):
            H, _ = net.activate(H @ p[f"W{l}"].T + p[f"b{l}"], l)
        out.append(H @ p["U"] + p["c"])
    return np.concatenate(out)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS) + list(PARAMETRIC))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("casing_dim", [0, 3])
def test_scores_equal_the_plain_forward(activation, dtype, casing_dim):
    """Same batches, same matrix products: equal to the last bit (ReLU in place may turn a
    -0.0 into 0.0, which compares equal)."""
    rng = np.random.default_rng(len(activation))
    V, d, extra_rows = 40, 6, 7
    net = WindowNetwork.create(rng, V, d, 6, casing_dim, 5, [9, 8], 5, dtype=dtype, activation=activation)
    extra = rng.standard_normal((extra_rows, d)).astype(np.float32)
    words = rng.integers(0, V + extra_rows, (300, 5))
    casing = rng.integers(0, 6, (300, 5))
    for batch in (1, 64, 300, 1000):
        got = net.scores(words, casing, extra, batch)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, plain_scores(net, words, casing, extra, batch))
    no_extra = words % V
    np.testing.assert_array_equal(net.scores(no_extra, casing, np.zeros((0, 0), np.float32)),
                                  plain_scores(net, no_extra, casing, np.zeros((0, 0)), 2048))
    np.testing.assert_array_equal(net.scores(no_extra, casing), plain_scores(net, no_extra, casing, np.zeros(0), 2048))


@pytest.mark.parametrize("casing_dim", [0, 3])
def test_scores_with_suffix_vectors_equal_the_plain_forward(casing_dim):
    """x is the word vectors, the casing vectors, then the suffix vectors."""
    rng = np.random.default_rng(1)
    net = WindowNetwork.create(rng, 40, 6, 6, casing_dim, 5, [9], 5, n_suffixes=11, suffix_dim=2)
    words, casing, suffixes = rng.integers(0, 40, (300, 5)), rng.integers(0, 6, (300, 5)), rng.integers(0, 11, (300, 5))
    for batch in (1, 64, 1000):
        np.testing.assert_array_equal(net.scores(words, casing, None, batch, suffixes),
                                      plain_scores(net, words, casing, np.zeros(0), batch, suffixes))


def test_no_windows_and_ids_out_of_range():
    net = WindowNetwork.create(np.random.default_rng(0), 10, 4, 6, 2, 5, [8], 3)
    assert net.scores(np.zeros((0, 5), np.int64), np.zeros((0, 5), np.int64)).shape == (0, 3)
    with pytest.raises(IndexError):   # a damaged model is refused on load by this error
        net.scores(np.full((1, 5), 10), np.zeros((1, 5), np.int64))
    with pytest.raises(IndexError):
        net.scores(np.full((1, 5), 12), np.zeros((1, 5), np.int64), np.zeros((2, 4), np.float32))
