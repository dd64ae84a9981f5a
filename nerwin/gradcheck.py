"""Numerical gradients by centred differences, and the relative error that compares them.

    ∂J/∂θ_i ≈ (J(θ + h e_i) − J(θ − h e_i)) / 2h,   rel = |a − n| / max(|a| + |n|, tiny)

with |·| the Euclidean norm over a whole parameter: entry by entry, round-off in the
difference (≈ 1e-11 in float64) would swamp entries whose gradient is itself tiny.

Slow (two loss evaluations per parameter entry) but the proof that the analytic,
hand-written gradients are right. Run in float64.
"""

from __future__ import annotations

import numpy as np

from nerwin.model import WindowNetwork, dense_grads, network_settings
from nerwin.tags import LabelSet

TINY = 1e-12


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of the scalar ``f()`` with respect to array ``x``,
    perturbing ``x`` in place (and restoring it).

    Entries are addressed by index, never through a reshaped view: for a Fortran-ordered
    or transposed ``x`` a reshape is a copy, and perturbing it would leave ``f`` unchanged.
    """
    grad = np.zeros(x.shape, np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = f()
        x[i] = old - h
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(analytic, numeric) -> float:
    """``‖a − n‖ / max(‖a‖ + ‖n‖, tiny)`` over all entries of a parameter."""
    a, n = np.ravel(analytic).astype(np.float64), np.ravel(numeric).astype(np.float64)
    return float(np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), TINY))


def check_network(network: WindowNetwork, word_ids, case_ids, y, seed: int = 0, h: float = 1e-5,
                  suffix_ids=None) -> dict:
    """Largest relative error per parameter of ``network`` (made float64) on one batch
    (``suffix_ids`` for a network with suffix vectors A).

    Dropout masks are drawn from a generator re-seeded with ``seed`` at every loss
    evaluation, so the analytic and numerical passes see the same mask.
    """
    net = network.astype(np.float64)

    def loss():
        return net.loss_and_grads(word_ids, case_ids, y, np.random.default_rng(seed), suffix_ids)[0]

    _, grads = net.loss_and_grads(word_ids, case_ids, y, np.random.default_rng(seed), suffix_ids)
    analytic = dense_grads(grads, net.params)
    return {name: relative_error(analytic[name], numerical_gradient(loss, net.params[name], h))
            for name in analytic}


def check_config(config: dict, seed: int = 0) -> dict:
    """Relative error per parameter of a small random network shaped like ``config``
    (see :func:`random_network`) on a random batch: what ``nerwin gradcheck`` reports."""
    rng = np.random.default_rng(seed)
    net, n_classes = random_network(config, rng)
    words, casing, y = random_batch(rng, len(net.params["E"]), len(net.params.get("C", [0])),
                                    config["model"]["window"], n_classes)
    suffixes = rng.integers(0, len(net.params["A"]), size=words.shape) if "A" in net.params else None
    return check_network(net, words, casing, y, seed=seed, suffix_ids=suffixes)


def random_batch(rng, n_words: int, n_casings: int, window: int, n_classes: int, n: int = 8):
    """A small batch of random windows, with a repeated word in the first window."""
    words = rng.integers(0, n_words, size=(n, window))
    words[0, -1] = words[0, 0]  # one word twice in a window: both contributions must add up
    casing = rng.integers(0, n_casings, size=(n, window))
    return words, casing, rng.integers(0, n_classes, size=n)


def random_network(config: dict, rng, n_words: int = 12, n_casings: int = 6, word_dim: int = 4,
                   n_suffixes: int = 9):
    """A small float64 network shaped like ``config`` (same activation, loss, depth, window,
    regularisation, suffix features; layers of at most 7 units), biases drawn at random: with
    zero biases a unit whose inputs are all dropped sits exactly on a ReLU kink, where no
    derivative exists."""
    labels = LabelSet(["LOC", "PER"], config["data"]["scheme"])
    model = config["model"]
    hidden = [min(h, 7) for h in model["hidden"]]
    emb = config["embeddings"]
    casing_dim = min(emb["casing_dim"], 3)
    suffix_dim = min(emb["suffix_dim"], 3) if emb["suffix_length"] else 0
    net = WindowNetwork.create(rng, n_words, word_dim, n_casings, casing_dim, model["window"], hidden,
                               len(labels), init=model["init"], dtype=np.float64, prelu_init=model["prelu_init"],
                               n_suffixes=n_suffixes, suffix_dim=suffix_dim, **network_settings(config, len(labels)))
    for name, theta in net.params.items():
        if name.startswith("b") or name == "c":
            theta[...] = rng.normal(0.0, 0.1, theta.shape)
    return net, len(labels)
