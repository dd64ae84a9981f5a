"""Layers with hand-written backward passes: ``forward(...) -> (out, backprop)``.

Convention (the lecture's, batched): a minibatch of N inputs is a matrix X (N, n_in);
W is (n_out, n_in) as in ``z = Wx + b``, so the batch computes ``Z = X Wᵀ + b``.
Backward receives the error signal Δ = ∂J/∂Z (N, n_out) and

* adds ``Δᵀ X`` into ∂J/∂W (the sum over the batch of the outer products ``δ xᵀ``),
* adds ``Σ_n δ`` into ∂J/∂b,
* returns ``Δ W`` (each row ``Wᵀδ``), the signal passed down.

How dropout masks and embedding gradients are made fast is in :mod:`nerwin.nn.masks` and
:mod:`nerwin.nn.sparse`.
"""

from __future__ import annotations

import numpy as np

from nerwin.nn.buffers import accumulate
from nerwin.nn.masks import dropout_mask
from nerwin.nn.sparse import SparseRows, scatter_rows

ALL = slice(None)   # every column


def linear(params, grads, W: str, b: str, X, dx_columns: slice = ALL):
    """``Z = X Wᵀ + b`` with parameters named ``W``, ``b`` in ``params``/``grads``.

    ``backprop(Δ)`` returns the signal for the columns ``dx_columns`` of X only: an input
    whose columns do not train asks for none of them and costs no matrix product.
    """
    Wm = params[W]
    Z = X @ Wm.T
    Z += params[b]

    def backprop(delta):
        accumulate(grads, W, delta.T @ X)
        accumulate(grads, b, delta.sum(axis=0))
        return delta @ Wm[:, dx_columns]

    return Z, backprop


def dropout(X, rate: float, rng, inplace: bool = False, dx_columns: slice = ALL):
    """Inverted dropout: keep each unit with probability 1 - rate, scaled by 1/(1 - rate).

    With ``rng`` None or rate 0 it is the identity (prediction). ``inplace`` scales X itself
    (the caller owns it). ``backprop(dX)`` takes the signal of the columns ``dx_columns``
    of X and scales it in place.
    """
    mask = dropout_mask(X.shape, rate, rng, X.dtype)
    if mask is None:
        return X, _identity

    def backprop(dX):
        dX *= mask[:, dx_columns]
        return dX

    if inplace:
        X *= mask
        return X, backprop
    return X * mask, backprop


def _identity(dX):
    return dX


def word_dropout(ids, rate: float, rng, unk: int, first_word: int):
    """Word dropout on windows of word ids (N, w): each id ≥ ``first_word`` becomes ``unk``
    with probability ``rate``, one uniform per position; lower ids (``<unk>`` itself and the
    paddings) stay. With ``rng`` None or rate 0 it returns ``ids`` and draws nothing
    (prediction). Nothing to send back: a dropped position's gradient goes to the ``unk``
    row through :func:`embed`, as any word's does.
    """
    if rng is None or rate <= 0:
        return ids
    drop = rng.random(ids.shape) < rate
    drop &= ids >= first_word
    return np.where(drop, np.asarray(unk, ids.dtype), ids)


def embed(table, ids):
    """Gather a window of vectors: ``ids`` (N, w) -> X (N, w·d), the w vectors side by side.

    ``backprop(dX)`` splits each row of dX back into its w word vectors and sums them per
    table row, returning a :class:`~nerwin.nn.sparse.SparseRows` gradient for the table.
    """
    n, w = ids.shape
    d = table.shape[1]
    X = table.take(ids.reshape(-1), axis=0).reshape(n, w * d)
    return X, lambda dX: unembed(ids, dX)


def unembed(ids, dX) -> SparseRows:
    """The backward of :func:`embed`: each row of dX (N, w·d) split into its w vectors,
    summed per table row (``ids`` (N, w))."""
    n, w = ids.shape
    return scatter_rows(ids.reshape(-1), dX.reshape(n * w, dX.shape[1] // w))


def score(params, grads, U: str, c: str, H):
    """Class scores ``S = H U + c``: each row is ``s = Uᵀh + c`` with U (n_hidden, C).

    Backward adds ``Hᵀ Δ`` into ∂J/∂U and returns ``Δ Uᵀ``.
    """
    Um = params[U]
    S = H @ Um
    S += params[c]

    def backprop(delta):
        accumulate(grads, U, H.T @ delta)
        accumulate(grads, c, delta.sum(axis=0))
        return delta @ Um.T

    return S, backprop
