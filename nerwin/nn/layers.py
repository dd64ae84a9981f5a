"""Layers with hand-written backward passes.

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

from nerwin.nn.buffers import accumulate
from nerwin.nn.masks import dropout_mask
from nerwin.nn.sparse import SparseRows, scatter_rows


def linear(params, grads, W: str, b: str, X):
    """``Z = X Wᵀ + b`` with parameters named ``W``, ``b`` in ``params``/``grads``.

    ``backprop(delta, columns)`` returns the signal for the input columns asked for: all
    (None), a slice of them, or none (False) — so a frozen input costs no matrix product.
    """
    Wm = params[W]
    Z = X @ Wm.T
    Z += params[b]

    def backprop(delta, columns=None):
        accumulate(grads, W, delta.T @ X)
        accumulate(grads, b, delta.sum(axis=0))
        if columns is False:
            return None
        return delta @ (Wm if columns is None else Wm[:, columns])

    return Z, backprop


def _identity(dX, columns=None):
    return dX


def dropout(X, rate: float, rng, inplace: bool = False):
    """Inverted dropout: keep each unit with probability 1 - rate, scaled by 1/(1 - rate).

    With ``rng`` None or rate 0 it is the identity (prediction). ``inplace`` scales X itself
    (the caller owns it). ``backprop(dX, columns)`` takes the signal of all columns or of
    the given slice of them, and scales that array in place.
    """
    mask = dropout_mask(X.shape, rate, rng, X.dtype)
    if mask is None:
        return X, _identity

    def backprop(dX, columns=None):
        dX *= mask if columns is None else mask[:, columns]
        return dX

    if inplace:
        X *= mask
        return X, backprop
    return X * mask, backprop


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
