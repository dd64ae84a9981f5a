"""The window network end to end: every gradient checked, the lecture's one-score case,
frozen embeddings left untouched."""

import numpy as np
import pytest

from nerwin import config as cfg
from nerwin.gradcheck import check_network, random_batch, random_network
from nerwin.model import WindowNetwork
from nerwin.nn.activations import ACTIVATIONS, PARAMETRIC
from nerwin.nn.losses import LOSSES
from nerwin.optim import Adam

TOLERANCE = 1e-6


def checked(overrides, seed=0, n=8):
    config = cfg.load(None, overrides)
    rng = np.random.default_rng(seed)
    net, n_classes = random_network(config, rng)
    words, casing, y = random_batch(rng, len(net.params["E"]), 6, config["model"]["window"], n_classes, n)
    suffixes = rng.integers(0, len(net.params["A"]), size=words.shape) if "A" in net.params else None
    return check_network(net, words, casing, y, seed=seed, suffix_ids=suffixes)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS) + list(PARAMETRIC))
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_every_gradient_end_to_end(activation, loss):
    errors = checked([f'model.activation="{activation}"', f'loss.name="{loss}"'])
    slopes = {"a1", "a2"} if activation == "prelu" else set()
    assert set(errors) == {"E", "C", "W1", "b1", "W2", "b2", "U", "c"} | slopes
    assert max(errors.values()) < TOLERANCE, errors


@pytest.mark.parametrize("overrides", [
    ["regularization.l2=0.01"],
    ["regularization.l2=0.01", "regularization.l2_biases=true", "regularization.l2_embeddings=true"],
    ["regularization.dropout_input=0.3", "regularization.dropout_hidden=0.4"],
    ["loss.o_weight=0.3"],
    ["model.hidden=[6]", "model.window=3"],
    ["model.hidden=[5, 4, 3]"],
    ["embeddings.casing_dim=0"],
    ['embeddings.finetune="seen"'],
    ['model.activation="maxout"', "model.maxout_pieces=3", "regularization.dropout_hidden=0.3"],
    ['model.activation="prelu"', "regularization.l2=0.1", "regularization.l2_biases=true"],
    ['data.scheme="iob2"', 'model.init="xavier_uniform"'],
    ["regularization.word_dropout=0.5", "regularization.dropout_input=0.3"],
    ["regularization.word_dropout=0.5", 'embeddings.finetune="seen"'],
])
def test_gradients_with_switches(overrides):
    errors = checked(overrides)
    assert max(errors.values()) < TOLERANCE, errors


@pytest.mark.parametrize("overrides", [
    [],
    ['embeddings.finetune="none"', "regularization.l2=0.01", "regularization.l2_embeddings=true"],
    ["embeddings.casing_dim=0", 'embeddings.finetune="none"', "regularization.dropout_input=0.3"],
    ["embeddings.casing_dim=0", "model.window=3", 'model.activation="maxout"', "regularization.dropout_hidden=0.2"],
], ids=["plain", "frozen words, L2", "no casing, frozen words, dropout", "no casing, maxout"])
def test_suffix_vectors_get_their_gradient_in_every_layout_of_x(overrides):
    """A's columns sit after E's and C's, or first in the gradient when neither trains."""
    errors = checked(["embeddings.suffix_length=3"] + overrides)
    assert "A" in errors and max(errors.values()) < TOLERANCE, errors


def test_gradcheck_catches_a_wrong_gradient():
    """The checker can fail: a network whose backward forgets the ReLU mask is caught."""
    config = cfg.load(None, [])
    rng = np.random.default_rng(0)
    net, n_classes = random_network(config, rng)
    words, casing, y = random_batch(rng, 12, 6, 5, n_classes)
    original = ACTIVATIONS["relu"]
    ACTIVATIONS["relu"] = lambda z: (np.maximum(z, 0), lambda dh: dh)
    try:
        errors = check_network(net, words, casing, y)
    finally:
        ACTIVATIONS["relu"] = original
    assert errors["W1"] > 1e-3


def test_l2_adds_lambda_sum_of_squares():
    rng = np.random.default_rng(1)
    words, casing, y = random_batch(rng, 10, 6, 5, 3)
    base = WindowNetwork.create(np.random.default_rng(2), 10, 4, 6, 2, 5, [6], 3, dtype=np.float64)
    reg = WindowNetwork.create(np.random.default_rng(2), 10, 4, 6, 2, 5, [6], 3, dtype=np.float64, l2=0.1)
    l0, g0 = base.loss_and_grads(words, casing, y)
    l1, g1 = reg.loss_and_grads(words, casing, y)
    penalty = 0.1 * sum(float((reg.params[k] ** 2).sum()) for k in ("W1", "U"))
    assert l1 == pytest.approx(l0 + penalty)
    np.testing.assert_allclose(g1["W1"], g0["W1"] + 0.2 * reg.params["W1"])
    np.testing.assert_allclose(g1["b1"], g0["b1"])  # biases are not regularised by default


def test_one_hidden_layer_one_score_is_the_lecture_neuron():
    """hidden = [H] with one output computes s = uᵀ f(W x + b) for the window x."""
    rng = np.random.default_rng(3)
    net = WindowNetwork.create(rng, 20, 4, 6, 0, 5, [8], 1, dtype=np.float64, activation="sigmoid")
    p = net.params
    ids = np.array([[1, 5, 7, 5, 2]])
    x = np.concatenate([p["E"][i] for i in ids[0]])
    h = 1 / (1 + np.exp(-(p["W1"] @ x + p["b1"])))
    s = net.scores(ids, np.zeros_like(ids))
    assert s.shape == (1, 1)
    assert s[0, 0] == pytest.approx(p["U"][:, 0] @ h + p["c"][0])


def test_frozen_embeddings_are_neither_differentiated_nor_changed():
    rng = np.random.default_rng(4)
    net = WindowNetwork.create(rng, 30, 4, 6, 2, 5, [8, 8], 5, finetune="none")
    E0 = net.params["E"].copy()
    words, casing, y = random_batch(rng, 30, 6, 5, 5, n=32)
    opt = Adam()
    for _ in range(5):
        loss, grads = net.loss_and_grads(words, casing, y, rng)
        assert "E" not in grads and "C" in grads
        opt.step(net.params, grads, 0.01)
    np.testing.assert_array_equal(net.params["E"], E0)


def test_suffix_vectors_train_like_the_casing_vectors():
    """Frozen words leave A training; a suffix used twice in a window gets both contributions."""
    rng = np.random.default_rng(4)
    net = WindowNetwork.create(rng, 30, 4, 6, 2, 5, [8, 8], 5, finetune="none", n_suffixes=9, suffix_dim=3)
    A0 = net.params["A"].copy()
    words, casing, y = random_batch(rng, 30, 6, 5, 5, n=32)
    suffixes = rng.integers(0, 7, size=words.shape)         # rows 7 and 8 unused
    _, grads = net.loss_and_grads(words, casing, y, rng, suffixes)
    assert set(grads) >= {"C", "A"} and "E" not in grads
    Adam().step(net.params, grads, 0.01)
    moved = np.flatnonzero(np.any(net.params["A"] != A0, axis=1))
    assert set(moved) == set(np.unique(suffixes))


@pytest.mark.parametrize("finetune", ["all", "seen", "none"])
def test_word_dropout_trains_the_unk_vector_only_where_the_special_rows_train(finetune):
    """A dropped word's gradient goes to <unk>'s row, which "all" updates, "seen" keeps frozen
    with <s> and </s>, and "none" never computes."""
    config = cfg.load(None, ["regularization.word_dropout=0.5", f'embeddings.finetune="{finetune}"'])
    rng = np.random.default_rng(6)
    net, n_classes = random_network(config, rng)
    words, casing, y = random_batch(rng, len(net.params["E"]), 6, 5, n_classes, n=64)
    words = np.maximum(words, 3)                          # neither <unk> nor a padding in the batch
    _, plain = net.loss_and_grads(words, casing, y)       # no generator: no dropout of any kind
    _, grads = net.loss_and_grads(words, casing, y, np.random.default_rng(0))
    if finetune == "none":
        assert "E" not in grads
        return
    assert 0 not in plain["E"].rows and 0 in grads["E"].rows
    assert (0 in net.updates(grads)["E"].rows) == (finetune == "all")


def test_finetuning_moves_only_rows_in_the_batch():
    rng = np.random.default_rng(5)
    net = WindowNetwork.create(rng, 30, 4, 6, 2, 5, [8], 5)
    E0 = net.params["E"].copy()
    words, casing, y = random_batch(rng, 20, 6, 5, 5, n=16)   # only words 0..19 occur
    opt = Adam()
    for _ in range(3):
        _, grads = net.loss_and_grads(words, casing, y, rng)
        opt.step(net.params, grads, 0.01)
    changed = np.flatnonzero(np.any(net.params["E"] != E0, axis=1))
    assert set(changed) == set(np.unique(words))
    np.testing.assert_array_equal(net.params["E"][20:], E0[20:])


def test_training_steps_lower_the_loss():
    rng = np.random.default_rng(6)
    net = WindowNetwork.create(rng, 30, 4, 6, 2, 5, [16, 16], 3)
    words, casing, y = random_batch(rng, 30, 6, 5, 3, n=64)
    opt = Adam()
    first = net.loss_and_grads(words, casing, y)[0]
    for _ in range(100):
        _, grads = net.loss_and_grads(words, casing, y)
        opt.step(net.params, grads, 0.01)
    assert net.loss_and_grads(words, casing, y)[0] < first / 5


def test_maxout_takes_the_best_of_k_pieces():
    from nerwin.nn.activations import maxout
    z = np.array([[1.0, 3.0, -2.0, -5.0, 0.5, 4.0]])   # 2 units x 3 pieces
    h, back = maxout(z, 3)
    np.testing.assert_array_equal(h, [[3.0, 4.0]])
    np.testing.assert_array_equal(back(np.array([[10.0, 20.0]])), [[0, 10.0, 0, 0, 0, 20.0]])


def test_prelu_learns_its_slope():
    from nerwin.nn.activations import prelu
    z = np.array([[-2.0, 3.0], [-1.0, -4.0]])
    a = np.array([0.25, 0.5])
    grads = {"a": np.zeros(2)}
    h, back = prelu(z, a, grads, "a")
    np.testing.assert_allclose(h, [[-0.5, 3.0], [-0.25, -2.0]])
    dz = back(np.ones_like(z))
    np.testing.assert_allclose(dz, [[0.25, 1.0], [0.25, 0.5]])
    np.testing.assert_allclose(grads["a"], [-3.0, -4.0])   # Σ_n min(z, 0)


def test_seen_mode_freezes_the_special_rows():
    rng = np.random.default_rng(8)
    net = WindowNetwork.create(rng, 30, 4, 6, 2, 5, [8], 5, finetune="seen", frozen_rows=[0, 1, 2])
    E0 = net.params["E"].copy()
    words, casing, y = random_batch(rng, 30, 6, 5, 5, n=64)
    words[:, 0] = 1                                   # <s> in every window
    opt = Adam()
    for _ in range(3):
        _, grads = net.loss_and_grads(words, casing, y, rng)
        assert 1 in grads["E"].rows                   # the true gradient reaches it ...
        opt.step(net.params, net.updates(grads), 0.01)
    np.testing.assert_array_equal(net.params["E"][:3], E0[:3])   # ... but it is not applied
    moved = np.flatnonzero(np.any(net.params["E"] != E0, axis=1))
    assert set(moved) == set(np.unique(words)) - {0, 1, 2}
