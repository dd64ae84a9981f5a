"""Each layer's forward and hand-written backward, against the numerical gradient."""

import numpy as np
import pytest

from nerwin.gradcheck import numerical_gradient, relative_error
from nerwin.nn.activations import ACTIVATIONS
from nerwin.nn.layers import dropout, embed, linear, score, word_dropout
from nerwin.nn.losses import LOSSES, softmax


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def check_input_and_params(forward, params, X, rng):
    """Backprop a random upstream gradient G through ``forward``; compare dX and every
    parameter gradient with centred differences of the scalar Σ G ∘ out."""
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    out, backprop = forward(params, grads, X)
    G = rng.standard_normal(out.shape)
    dX = backprop(G)
    objective = lambda: float((forward(params, {k: np.zeros_like(v) for k, v in params.items()}, X)[0] * G).sum())
    assert relative_error(dX, numerical_gradient(objective, X)) < 1e-8
    for name in params:
        assert relative_error(grads[name], numerical_gradient(objective, params[name])) < 1e-8, name


def test_linear_gradients(rng):
    params = {"W": rng.standard_normal((4, 6)), "b": rng.standard_normal(4)}
    X = rng.standard_normal((5, 6))
    check_input_and_params(lambda p, g, x: linear(p, g, "W", "b", x), params, X, rng)


def test_score_gradients(rng):
    params = {"U": rng.standard_normal((6, 3)), "c": rng.standard_normal(3)}
    X = rng.standard_normal((5, 6))
    check_input_and_params(lambda p, g, x: score(p, g, "U", "c", x), params, X, rng)


def test_weight_gradient_is_sum_of_outer_products(rng):
    """∂J/∂W = Δᵀ X = Σ_n δ_n x_nᵀ, and the signal passed down is Wᵀ δ_n for each window."""
    params = {"W": rng.standard_normal((4, 6)), "b": np.zeros(4)}
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    X = rng.standard_normal((5, 6))
    _, backprop = linear(params, grads, "W", "b", X)
    delta = rng.standard_normal((5, 4))
    dX = backprop(delta)
    outer_sum = sum(np.outer(delta[n], X[n]) for n in range(5))
    np.testing.assert_allclose(grads["W"], outer_sum)
    for n in range(5):
        np.testing.assert_allclose(dX[n], params["W"].T @ delta[n])


def test_linear_sends_back_only_the_columns_asked_for(rng):
    """``dx_columns`` picks columns of dX = Δ W (a frozen input asks for none); the
    parameter gradients are the same."""
    params = {"W": rng.standard_normal((4, 6)), "b": rng.standard_normal(4)}
    X, delta = rng.standard_normal((5, 6)), rng.standard_normal((5, 4))
    grads = {}
    dX = linear(params, grads, "W", "b", X)[1](delta)
    for columns in (slice(2, None), slice(6, None)):
        part_grads = {}
        part = linear(params, part_grads, "W", "b", X, dx_columns=columns)[1](delta)
        np.testing.assert_array_equal(part, dX[:, columns])
        np.testing.assert_array_equal(part_grads["W"], grads["W"])
    assert part.shape == (5, 0)


def test_gradients_accumulate(rng):
    params = {"W": rng.standard_normal((2, 3)), "b": np.zeros(2)}
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    X = rng.standard_normal((4, 3))
    delta = rng.standard_normal((4, 2))
    for _ in range(2):
        _, backprop = linear(params, grads, "W", "b", X)
        backprop(delta)
    np.testing.assert_allclose(grads["W"], 2 * delta.T @ X)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradients(name, rng):
    Z = rng.standard_normal((6, 5)) * 2
    Z[np.abs(Z) < 0.05] = 0.3          # keep clear of kinks at 0
    Z[np.abs(np.abs(Z) - 1) < 0.05] = 0.5  # and at ±1 (hard tanh)
    f = ACTIVATIONS[name]
    G = rng.standard_normal(Z.shape)
    h, backprop = f(Z)
    numeric = numerical_gradient(lambda: float((f(Z)[0] * G).sum()), Z)
    assert relative_error(backprop(G), numeric) < 1e-8


def test_activation_values():
    z = np.array([-2.0, 0.5, 3.0])
    np.testing.assert_allclose(ACTIVATIONS["relu"](z)[0], [0, 0.5, 3])
    np.testing.assert_allclose(ACTIVATIONS["sigmoid"](z)[0], 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(ACTIVATIONS["hardtanh"](z)[0], [-1, 0.5, 1])
    np.testing.assert_allclose(ACTIVATIONS["elu"](z)[0], [np.expm1(-2), 0.5, 3])
    assert ACTIVATIONS["sigmoid"](np.array([-1000.0, 1000.0]))[0].tolist() == [0.0, 1.0]


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_gradients(name, weighted, rng):
    S = rng.standard_normal((6, 4))
    y = rng.integers(0, 4, 6)
    w = np.array([0.5, 1.0, 2.0, 1.0]) if weighted else None
    loss, dS = LOSSES[name](S.copy(), y, w)
    numeric = numerical_gradient(lambda: LOSSES[name](S.copy(), y, w)[0], S)
    assert relative_error(dS, numeric) < 1e-8


def test_softmax_cross_entropy_value():
    S = np.array([[1.0, 2.0, 3.0]])
    loss, _ = LOSSES["softmax"](S.copy(), np.array([2]))
    assert loss == pytest.approx(-np.log(softmax(S)[0, 2]))
    assert softmax(np.array([[1000.0, 0.0]]))[0, 0] == pytest.approx(1.0)


def test_hinge_value():
    """Σ_{j≠y} max(0, s_j − s_y + 1): scores (3, 2.5, -1) with y = 0 give 0.5 + 0."""
    loss, dS = LOSSES["hinge"](np.array([[3.0, 2.5, -1.0]]), np.array([0]))
    assert loss == pytest.approx(0.5)
    np.testing.assert_allclose(dS, [[-1.0, 1.0, 0.0]])


def test_embed_splits_window_gradient_into_word_rows(rng):
    """dX of a window is split into its word vectors and added per row: a word that occurs
    twice (here word 2) gets both contributions."""
    table = rng.standard_normal((5, 3))
    ids = np.array([[2, 0, 2], [4, 4, 1]])
    X, backprop = embed(table, ids)
    np.testing.assert_array_equal(X[0], np.concatenate([table[2], table[0], table[2]]))
    dX = rng.standard_normal(X.shape)
    g = backprop(dX)
    dense = g.to_dense(table.shape)
    expected = np.zeros_like(table)
    np.add.at(expected, ids.reshape(-1), dX.reshape(-1, 3))
    np.testing.assert_allclose(dense, expected)
    np.testing.assert_allclose(dense[2], dX[0, 0:3] + dX[0, 6:9])
    assert g.rows.tolist() == [0, 1, 2, 4]
    numeric = numerical_gradient(lambda: float((embed(table, ids)[0] * dX).sum()), table)
    assert relative_error(dense, numeric) < 1e-8


def test_dropout_is_identity_without_rng_and_unbiased_with_it(rng):
    X = np.ones((2000, 50))
    out, back = dropout(X, 0.3, None)
    assert out is X
    out, back = dropout(X, 0.3, rng)
    assert abs(out.mean() - 1.0) < 0.02
    kept = out != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(out[kept], 1 / 0.7)
    np.testing.assert_array_equal(back(np.ones_like(X)), out)


def windows_with_pads(rng, n=4000, w=5, n_words=50):
    """Word-id windows (n, w) of ids 3..n_words-1, with ``<s>`` (1) and ``</s>`` (2) at the
    edges of a third of them, as sentence starts and ends give."""
    ids = rng.integers(3, n_words, size=(n, w), dtype=np.int32)
    ids[: n // 3, :2] = 1
    ids[-n // 3:, -2:] = 2
    return ids


def test_word_dropout_off_draws_nothing_and_returns_the_ids(rng):
    ids = windows_with_pads(rng)
    state = rng.bit_generator.state
    assert word_dropout(ids, 0.0, rng, 0, 3) is ids
    assert word_dropout(ids, 0.5, None, 0, 3) is ids
    assert rng.bit_generator.state == state


def test_word_dropout_drops_about_p_of_the_words_and_never_a_pad():
    ids = windows_with_pads(np.random.default_rng(0))
    pads = ids < 3
    for p in (0.1, 0.5):
        out = word_dropout(ids, p, np.random.default_rng(11), 0, 3)
        assert out.dtype == ids.dtype and out.shape == ids.shape
        np.testing.assert_array_equal(out[pads], ids[pads])
        changed = out != ids
        assert set(np.unique(out[changed])) == {0}                      # a changed id is <unk>
        n = int((~pads).sum())                                          # about 15,000 words
        assert abs(changed.sum() / n - p) < 5 * np.sqrt(p * (1 - p) / n)   # 5σ, and the seed is fixed


def test_word_dropout_is_the_same_for_the_same_seed_and_leaves_unk_alone():
    ids = windows_with_pads(np.random.default_rng(0))
    ids[::7, 2] = 0                                                     # <unk> already
    a, b = (word_dropout(ids, 0.3, np.random.default_rng(5), 0, 3) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert np.any(word_dropout(ids, 0.3, np.random.default_rng(6), 0, 3) != a)
    assert np.all(a[::7, 2] == 0)
