"""Scalar gates of the lecture's circuits, in the same ``(out, backprop)`` form as the layers.

``backprop(d_out)`` returns the gradient for each input: local gradient times upstream.
"""

from __future__ import annotations


def add(x, y):
    """q = x + y; ∂q/∂x = ∂q/∂y = 1: the add gate distributes the gradient."""
    return x + y, lambda dq: (dq, dq)


def multiply(x, y):
    """f = x·y; ∂f/∂x = y, ∂f/∂y = x: the multiply gate swaps its inputs."""
    return x * y, lambda df: (df * y, df * x)
