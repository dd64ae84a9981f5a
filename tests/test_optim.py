"""Update rules against values computed by hand, dense and sparse; schedules at chosen steps."""

import math

import numpy as np
import pytest

from nerwin.nn.initializers import INITIALIZERS
from nerwin.nn.sparse import SparseRows
from nerwin.optim import OPTIMIZERS, Optimizer, clip_scale, make_optimizer
from nerwin import config as cfg
from nerwin.schedules import SCHEDULES, make_schedule, schedule_from_config


def run(name, steps=2, lr=0.1, **kw):
    """Minimise f(θ) = θ²/2 (gradient θ) from θ = 1 for a few steps."""
    theta = np.array([1.0])
    opt = OPTIMIZERS[name](**kw)
    seen = []
    for _ in range(steps):
        opt.step({"x": theta}, {"x": theta.copy()}, lr)
        seen.append(float(theta[0]))
    return seen


def test_sgd():
    assert run("sgd") == pytest.approx([0.9, 0.81])


def test_momentum():
    # v1 = -0.1, θ1 = 0.9; v2 = 0.9·(-0.1) - 0.1·0.9 = -0.18, θ2 = 0.72
    assert run("momentum") == pytest.approx([0.9, 0.72])


def test_nesterov():
    # v1 = -0.1, θ1 = 1 + 0.9·(-0.1) - 0.1 = 0.81; g = 0.81: v2 = -0.09 - 0.081 = -0.171,
    # θ2 = 0.81 + 0.9·(-0.171) - 0.081 = 0.5751
    assert run("nesterov") == pytest.approx([0.81, 0.5751])


def test_adagrad():
    # G1 = 1, θ1 = 1 - 0.1 = 0.9; G2 = 1.81, θ2 = 0.9 - 0.1·0.9/√1.81
    assert run("adagrad") == pytest.approx([0.9, 0.9 - 0.09 / math.sqrt(1.81)], rel=1e-6)


def test_rmsprop():
    # r1 = 0.1, θ1 = 1 - 0.1/√0.1; r2 = 0.09 + 0.1·θ1², θ2 = θ1 - 0.1·θ1/√r2
    t1 = 1 - 0.1 / math.sqrt(0.1)
    t2 = t1 - 0.1 * t1 / math.sqrt(0.09 + 0.1 * t1 * t1)
    assert run("rmsprop") == pytest.approx([t1, t2], rel=1e-6)


def test_adam():
    # Step 1 moves by lr·sign(g) after bias correction; step 2 by lr·m̂/√v̂.
    t1 = 0.9
    m = 0.9 * 0.1 + 0.1 * t1
    v = 0.999 * 0.001 + 0.001 * t1 * t1
    t2 = t1 - 0.1 * (m / (1 - 0.81)) / (math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8)
    assert run("adam") == pytest.approx([t1, t2], rel=1e-6)


def test_adamw_decays_weights_apart_from_the_gradient():
    plain, decayed = run("adam", steps=1), run("adamw", steps=1, weight_decay=0.5)
    assert decayed[0] == pytest.approx(plain[0] - 0.1 * 0.5 * 1.0)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_sparse_update_equals_dense_on_touched_rows(name):
    """A SparseRows gradient updates its rows exactly as the dense rule would, and nothing else."""
    rng = np.random.default_rng(0)
    table = rng.standard_normal((6, 3))
    dense_table, sparse_table = table.copy(), table.copy()
    dense_opt, sparse_opt = OPTIMIZERS[name](), OPTIMIZERS[name]()
    rows = np.array([1, 4])
    for _ in range(3):
        values = rng.standard_normal((2, 3))
        dense = np.zeros_like(table)
        dense[rows] = values
        dense_opt.step({"E": dense_table}, {"E": dense}, 0.05)
        sparse_opt.step({"E": sparse_table}, {"E": SparseRows(rows, values)}, 0.05)
    np.testing.assert_allclose(sparse_table[rows], dense_table[rows])
    untouched = [0, 2, 3, 5]
    np.testing.assert_array_equal(sparse_table[untouched], table[untouched])


def test_clipping_scales_to_the_global_norm():
    grads = {"a": np.array([3.0]), "E": SparseRows(np.array([0]), np.array([[4.0]]))}
    assert clip_scale(grads, 1.0) == pytest.approx(0.2)
    assert clip_scale(grads, 10.0) == 1.0
    assert clip_scale(grads, 0.0) == 1.0


@pytest.mark.parametrize("name, options, expected", [
    ("constant", {}, [1.0, 1.0, 1.0]),
    ("step", {"decay": 0.5, "every": 2}, [1.0, 1.0, 0.5]),
    ("exponential", {"decay": 0.5, "every": 2}, [1.0, 0.5 ** 0.5, 0.5]),
    ("inverse_time", {"decay": 1.0, "every": 1}, [1.0, 0.5, 1 / 3]),
    ("cosine", {"total": 2}, [1.0, 0.5, 0.0]),
])
def test_schedules(name, options, expected):
    schedule = make_schedule(name, 1.0, **options)
    assert [schedule(s) for s in range(3)] == pytest.approx(expected)


def test_warmup_rises_linearly():
    schedule = make_schedule("constant", 1.0, warmup=4)
    assert [schedule(s) for s in range(6)] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])


def test_a_config_schedule_counts_updates_or_epochs_as_it_says():
    """The trainer asks for the rate of update k; per epoch, all 4 updates of an epoch share it."""
    sets = ['schedule.name="step"', "schedule.decay=0.5", "schedule.warmup=1", "train.epochs=3", "optimizer.lr=1.0"]
    per_epoch = schedule_from_config(cfg.load(None, sets + ['schedule.per="epoch"']), n_batches=4)
    assert [per_epoch(k) for k in range(12)] == [1.0] * 4 + [0.5] * 4 + [0.25] * 4
    cosine = ['schedule.name="cosine"', 'schedule.per="step"', "train.epochs=3", "optimizer.lr=1.0"]
    per_step = schedule_from_config(cfg.load(None, cosine), n_batches=4)
    assert [per_step(k) for k in (0, 6, 12)] == pytest.approx([1.0, 0.5, 0.0])  # total = 3 epochs × 4


@pytest.mark.parametrize("name, variance", [
    ("xavier_uniform", 2 / (300 + 200)), ("xavier_normal", 2 / (300 + 200)),
    ("he_uniform", 2 / 300), ("he_normal", 2 / 300), ("lecun_normal", 1 / 300),
    ("uniform", 0.1 ** 2 / 3), ("normal", 0.01 ** 2),
])
def test_initializer_statistics(name, variance):
    W = INITIALIZERS[name](np.random.default_rng(0), (200, 300), np.float64)
    assert abs(W.mean()) < 0.05 * math.sqrt(variance) * 10
    assert W.var() == pytest.approx(variance, rel=0.05)


def test_orthogonal_initializer():
    W = INITIALIZERS["orthogonal"](np.random.default_rng(0), (100, 300), np.float64)
    np.testing.assert_allclose(W @ W.T, np.eye(100), atol=1e-10)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_an_optimizer_rejects_a_keyword_it_does_not_take(name):
    """A typo (``SGD(momentom=0.9)``) is an error, not a setting silently ignored; the config
    passes each only what it takes."""
    with pytest.raises(TypeError, match="momentom"):
        OPTIMIZERS[name](momentom=0.9)
    assert isinstance(make_optimizer(cfg.load(None, [f'optimizer.name="{name}"'])), Optimizer)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_a_schedule_rejects_an_option_it_does_not_take(name):
    with pytest.raises(TypeError, match="decai"):
        make_schedule(name, 1.0, decai=0.5)
    config = cfg.load(None, [f'schedule.name="{name}"', 'schedule.per="step"'])
    assert schedule_from_config(config, n_batches=3)(0) > 0
