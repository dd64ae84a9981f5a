"""Element-wise non-linearities ``h = f(z)``.

Each is ``f(z) -> (h, backprop)`` where ``backprop(dh) = dh * f'(z)`` is the local
gradient times the upstream one.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    """σ(z) = 1 / (1 + e^-z); σ'(z) = σ(z)(1 - σ(z))."""
    h = np.empty_like(z)
    pos = z >= 0
    h[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    h[~pos] = ez / (1.0 + ez)
    return h, lambda dh: dh * h * (1.0 - h)


def tanh(z):
    """tanh(z); tanh'(z) = 1 - tanh(z)²."""
    h = np.tanh(z)
    return h, lambda dh: dh * (1.0 - h * h)


def hardtanh(z):
    """clip(z, -1, 1); gradient 1 inside (-1, 1), else 0."""
    inside = np.abs(z) < 1.0
    return np.clip(z, -1.0, 1.0), lambda dh: dh * inside


def relu(z):
    """max(0, z); gradient 1 where z > 0."""
    on = z > 0
    return z * on, lambda dh: dh * on


def leaky_relu(z, slope=0.01):
    """z for z > 0, else slope·z."""
    scale = np.where(z > 0, 1.0, slope).astype(z.dtype)
    return z * scale, lambda dh: dh * scale


def elu(z, alpha=1.0):
    """z for z > 0, else α(e^z - 1); gradient e^z·α below 0."""
    neg = alpha * np.expm1(np.minimum(z, 0))
    h = np.where(z > 0, z, neg)
    return h, lambda dh: dh * np.where(z > 0, 1.0, neg + alpha).astype(z.dtype)


ACTIVATIONS = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "hardtanh": hardtanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
}
