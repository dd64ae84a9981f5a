"""Losses over a batch of scores S (N, C) with gold classes y (N,).

Each returns ``(loss, dS)``: the mean loss over the batch and its gradient ∂J/∂S.
"""

from __future__ import annotations

import numpy as np


def softmax(S):
    """Row-wise softmax, shifted by the row maximum for stability."""
    e = np.exp(S - S.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(S, y, weights=None):
    """J = mean_n w_{y_n} · (-log softmax(s_n)[y_n]);  ∂J/∂s_n = w_{y_n} (p_n - onehot(y_n)) / N."""
    n = len(y)
    P = softmax(S)
    rows = np.arange(n)
    w = np.ones(n, S.dtype) if weights is None else weights[y].astype(S.dtype)
    loss = float(-(w * np.log(np.maximum(P[rows, y], 1e-300))).sum() / n)
    dS = P
    dS[rows, y] -= 1.0
    dS *= (w / n)[:, None]
    return loss, dS


def hinge(S, y, weights=None, margin: float = 1.0):
    """Multiclass SVM loss J = mean_n w_{y_n} Σ_{j≠y_n} max(0, s_j - s_{y_n} + margin).

    ∂J/∂s_j = w/N for each violating j, and -w/N times their count for s_{y_n}.
    """
    n = len(y)
    rows = np.arange(n)
    w = np.ones(n, S.dtype) if weights is None else weights[y].astype(S.dtype)
    margins = S - S[rows, y][:, None] + margin
    margins[rows, y] = 0.0
    active = (margins > 0).astype(S.dtype)
    loss = float((w * (margins * active).sum(axis=1)).sum() / n)
    dS = active
    dS[rows, y] = -active.sum(axis=1)
    dS *= (w / n)[:, None]
    return loss, dS


LOSSES = {"softmax": softmax_cross_entropy, "hinge": hinge}
