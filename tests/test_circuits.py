"""The lecture's two circuits, computed with nerwin's gates and layers."""

import numpy as np
import pytest

from nerwin.nn.activations import sigmoid
from nerwin.nn.gates import add, multiply
from nerwin.nn.layers import linear


def test_add_multiply_circuit():
    """f = (x + y)·z at (-2, 5, -4) is -12 with gradients (-4, -4, 3)."""
    x, y, z = -2.0, 5.0, -4.0
    q, back_add = add(x, y)
    f, back_mul = multiply(q, z)
    assert f == -12.0
    dq, dz = back_mul(1.0)
    dx, dy = back_add(dq)
    assert (dx, dy, dz) == (-4.0, -4.0, 3.0)


def test_sigmoid_neuron():
    """σ(w0·x0 + w1·x1 + w2) at w = (2, -3, -3), x = (-1, -2) is 0.73;
    gradients w: (-0.20, -0.39, 0.20), x: (0.39, -0.59)."""
    params = {"W": np.array([[2.0, -3.0]]), "b": np.array([-3.0])}
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    X = np.array([[-1.0, -2.0]])
    z, back_linear = linear(params, grads, "W", "b", X)
    h, back_sigmoid = sigmoid(z)
    assert h[0, 0] == pytest.approx(0.73, abs=0.005)
    dX = back_linear(back_sigmoid(np.ones_like(h)))
    np.testing.assert_allclose(grads["W"][0], [-0.20, -0.39], atol=0.005)
    np.testing.assert_allclose(grads["b"], [0.20], atol=0.005)
    np.testing.assert_allclose(dX[0], [0.39, -0.59], atol=0.005)
