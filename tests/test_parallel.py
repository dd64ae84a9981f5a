"""A batch computed in parts on several threads gives the gradients of the whole batch."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from nerwin import config as cfg
from nerwin.gradcheck import random_batch, random_network
from nerwin.model import dense_grads
from nerwin.parallel import Workers, batch_workers


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(3) as p:
        yield p


def test_workers_return_results_in_task_order(pool):
    workers = Workers(pool, parts=4)
    assert workers.run([lambda i=i: i * i for i in range(4)]) == [0, 1, 4, 9]
    with np.errstate(over="ignore"):   # the caller's settings hold on the workers' threads too
        assert workers.run([lambda: np.geterr()["over"]] * 3) == ["ignore"] * 3
    assert Workers(pool, parts=4, min_rows=64).parts_for(100) == 1
    assert Workers(pool, parts=4, min_rows=64).parts_for(1000) == 4


@pytest.mark.parametrize("parts", [2, 3])
@pytest.mark.parametrize("overrides", [
    [],
    ["regularization.dropout_input=0.3", "regularization.dropout_hidden=0.4", "regularization.l2=0.01"],
    ['embeddings.finetune="none"', "regularization.dropout_input=0.2"],
    ['embeddings.finetune="seen"', 'loss.name="hinge"'],
    ['model.activation="prelu"', "model.hidden=[5, 4, 3]"],
    ['model.activation="maxout"', "regularization.dropout_hidden=0.3", "embeddings.casing_dim=0"],
])
def test_parts_add_up_to_the_whole_batch(pool, parts, overrides):
    config = cfg.load(None, overrides)
    rng = np.random.default_rng(0)
    net, n_classes = random_network(config, rng)
    words, casing, y = random_batch(rng, len(net.params["E"]), 6, config["model"]["window"], n_classes, n=31)
    whole_loss, whole = net.loss_and_grads(words, casing, y, np.random.default_rng(7))
    part_loss, split = net.loss_and_grads(words, casing, y, np.random.default_rng(7),
                                          Workers(pool, parts, min_rows=1))
    assert part_loss == pytest.approx(whole_loss, rel=1e-12)
    whole, split = dense_grads(whole, net.params), dense_grads(split, net.params)
    assert whole.keys() == split.keys()
    for name in whole:
        np.testing.assert_allclose(split[name], whole[name], rtol=1e-10, atol=1e-13, err_msg=name)


def test_training_in_parts_is_reproducible_and_close_to_one_thread(tmp_path):
    from conftest import train_sample
    from nerwin.tagger import Tagger

    def params(run):
        return Tagger.load(run).network.params

    one = params(train_sample(tmp_path / "one", 2, "train.threads=1"))
    a = params(train_sample(tmp_path / "a", 2, "train.threads=2"))
    b = params(train_sample(tmp_path / "b", 2, "train.threads=2"))
    for name in one:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)   # same threads: same numbers
        np.testing.assert_allclose(a[name], one[name], atol=1e-3, err_msg=name)   # float32 rounding apart


def test_one_thread_is_the_plain_path():
    with batch_workers(1) as workers:
        assert workers is None
    with batch_workers(2) as workers:
        assert workers.parts == 2


@pytest.mark.parametrize("name", ["sgd", "momentum", "adagrad", "rmsprop", "adam", "adamw"])
def test_optimizer_updates_side_by_side_are_the_same_updates(pool, name):
    from nerwin.nn.layers import SparseRows
    from nerwin.optim import OPTIMIZERS

    rng = np.random.default_rng(1)
    shapes = {"E": (40, 6), "W1": (30, 20), "b1": (30,), "W2": (8, 30), "c": (8,)}
    start = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    runs = []
    for workers in (None, Workers(pool, parts=3)):
        params, opt = {k: v.copy() for k, v in start.items()}, OPTIMIZERS[name](clip_norm=1.0)
        step_rng = np.random.default_rng(2)
        for _ in range(4):
            grads = {k: step_rng.standard_normal(s).astype(np.float32) for k, s in shapes.items() if k != "E"}
            grads["E"] = SparseRows(np.array([1, 5, 7]), step_rng.standard_normal((3, 6)).astype(np.float32))
            opt.step(params, grads, 0.01, {"E": 0.02}, workers)
        runs.append(params)
    for k in shapes:
        np.testing.assert_array_equal(runs[0][k], runs[1][k], err_msg=k)


@pytest.mark.parametrize("layers", [
    [(270, 0.2), (300, 0.3), (300, 0.3)],
    [(270, 0.0), (300, 0.5), (8, 0.0)],
    [(271, 0.2), (300, 0.3)],               # odd width: drawn up front, sliced
])
@pytest.mark.parametrize("cuts", [[0, 100], [0, 50, 100], [0, 33, 66, 100]])
def test_parts_draw_exactly_the_masks_of_one_stream(layers, cuts):
    from nerwin.nn.layers import dropout_mask
    from nerwin.nn.masks import mask_draws

    for warm in (0, 1):   # 1: the generator holds half a 64-bit word (drawn up front too)
        one, parts = np.random.default_rng(5), np.random.default_rng(5)
        one.random(warm, dtype=np.float32), parts.random(warm, dtype=np.float32)
        whole = [dropout_mask((100, w), r, one, np.float32) for w, r in layers]
        draws = mask_draws(parts, 100, layers, cuts, np.float32)
        got = [d() for d in reversed(draws)][::-1]      # any order, any thread
        assert parts.bit_generator.state == one.bit_generator.state
        for (a, b), masks in zip(zip(cuts, cuts[1:]), got):
            for m_whole, m_part in zip(whole, masks):
                if m_whole is None:
                    assert m_part is None
                else:
                    np.testing.assert_array_equal(m_part, m_whole[a:b])
        assert parts.random() == one.random()
