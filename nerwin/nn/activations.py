"""Element-wise non-linearities ``h = f(z)``.

Each is ``f(z) -> (h, backprop)`` where ``backprop(dh) = dh * f'(z)`` is the local
gradient times the upstream one. The local gradient is kept from the forward pass (ReLU
reads its gate back from h, see :func:`relu`), so the caller may scale h in place
afterwards (inverted dropout does).
"""

from __future__ import annotations

import numpy as np

from nerwin.nn.buffers import accumulate


def sigmoid(z):
    """σ(z) = 1 / (1 + e^-z); σ'(z) = σ(z)(1 - σ(z))."""
    h = np.empty_like(z)
    pos = z >= 0
    h[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    h[~pos] = ez / (1.0 + ez)
    local = h * (1.0 - h)
    return h, lambda dh: dh * local


def tanh(z):
    """tanh(z); tanh'(z) = 1 - tanh(z)²."""
    h = np.tanh(z)
    local = 1.0 - h * h
    return h, lambda dh: dh * local


def hardtanh(z):
    """clip(z, -1, 1); gradient 1 inside (-1, 1), else 0."""
    inside = np.abs(z) < 1.0
    return np.clip(z, -1.0, 1.0), lambda dh: dh * inside


def relu(z, out=None):
    """max(0, z); gradient 1 where z > 0. ``out=z`` computes it in place (the caller owns
    z), and then ``backprop`` also scales dh in place.

    The gate is read back from h in backward (h > 0 ⇔ z > 0), so the forward pass is one
    ``maximum``. It stays right when h is later scaled in place by inverted dropout: a
    kept unit is scaled by 1/(1 - rate) > 0, and a dropped one has h = 0 and dh = 0.
    """
    h = np.maximum(z, 0, out=out)
    if out is None:
        return h, lambda dh: dh * (h > 0)
    return h, lambda dh: np.multiply(dh, h > 0, out=dh)


def leaky_relu(z, slope=0.01):
    """z for z > 0, else slope·z."""
    scale = np.where(z > 0, 1.0, slope).astype(z.dtype)
    return z * scale, lambda dh: dh * scale


def elu(z, alpha=1.0):
    """z for z > 0, else α(e^z - 1); gradient e^z·α below 0."""
    neg = alpha * np.expm1(np.minimum(z, 0))
    h = np.where(z > 0, z, neg)
    return h, lambda dh: dh * np.where(z > 0, 1.0, neg + alpha).astype(z.dtype)


def prelu(z, slope, grads=None, name=None):
    """Parametric ReLU: z for z > 0, else a·z with one learned slope a per unit.

    ``backprop`` adds ∂J/∂a = Σ_n dh ∘ min(z, 0) into ``grads[name]``.
    """
    neg = z < 0
    h = np.where(neg, slope * z, z)

    def backprop(dh):
        if grads is not None:
            accumulate(grads, name, (dh * np.where(neg, z, 0)).sum(axis=0))
        return dh * np.where(neg, slope, 1).astype(z.dtype)

    return h, backprop


def maxout(z, pieces):
    """Maxout: z (N, H·k) holds k pieces per unit (unit j: columns j·k .. j·k + k-1);
    h_j = max of its pieces. The gradient flows to the winning piece only."""
    n, hk = z.shape
    zk = z.reshape(n, hk // pieces, pieces)
    win = zk.argmax(axis=2)[:, :, None]
    h = np.take_along_axis(zk, win, axis=2)[:, :, 0]

    def backprop(dh):
        dz = np.zeros_like(zk)
        np.put_along_axis(dz, win, dh[:, :, None], axis=2)
        return dz.reshape(n, hk)

    return h, backprop


ACTIVATIONS = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "hardtanh": hardtanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
}
PARAMETRIC = ("prelu", "maxout")  # built by the model: they need its parameters or shapes
