"""Weight initialisers: ``init(rng, shape, dtype)`` for a matrix of shape (n_out, n_in).

fan_in = n_in, fan_out = n_out (the lecture's W in z = Wx + b).
"""

from __future__ import annotations

import numpy as np


def _fans(shape):
    return (shape[1] if len(shape) > 1 else shape[0]), shape[0]


def uniform(rng, shape, dtype, scale=0.1):
    return rng.uniform(-scale, scale, shape).astype(dtype)


def normal(rng, shape, dtype, scale=0.01):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def xavier_uniform(rng, shape, dtype, scale=None):
    """U(±√(6 / (fan_in + fan_out))): keeps activation variance through tanh layers."""
    fan_in, fan_out = _fans(shape)
    return uniform(rng, shape, dtype, np.sqrt(6.0 / (fan_in + fan_out)))


def xavier_normal(rng, shape, dtype, scale=None):
    fan_in, fan_out = _fans(shape)
    return normal(rng, shape, dtype, np.sqrt(2.0 / (fan_in + fan_out)))


def he_uniform(rng, shape, dtype, scale=None):
    """U(±√(6 / fan_in)): keeps variance through ReLU layers."""
    return uniform(rng, shape, dtype, np.sqrt(6.0 / _fans(shape)[0]))


def he_normal(rng, shape, dtype, scale=None):
    return normal(rng, shape, dtype, np.sqrt(2.0 / _fans(shape)[0]))


def lecun_normal(rng, shape, dtype, scale=None):
    return normal(rng, shape, dtype, np.sqrt(1.0 / _fans(shape)[0]))


def orthogonal(rng, shape, dtype, scale=1.0):
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one."""
    rows, cols = shape
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    q = q if rows >= cols else q.T
    return np.ascontiguousarray(scale * q[:rows, :cols], dtype)   # q.T is Fortran-ordered


INITIALIZERS = {
    "uniform": uniform,
    "normal": normal,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
}
