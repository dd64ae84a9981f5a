"""Update rules. An optimizer knows nothing of the model: ``step(params, grads, lr)``
updates the arrays in ``params`` in place, keeping its state per parameter name.

A gradient may be a :class:`~nerwin.nn.sparse.SparseRows` (an embedding table): then only
those rows and their state are touched ("lazy" updates), so a large vocabulary costs
nothing per step beyond the words in the batch.
"""

from __future__ import annotations

import numpy as np

from nerwin.nn.buffers import reusable
from nerwin.nn.sparse import SparseRows


class Optimizer:
    """Base: per-parameter state, sparse rows routed to the same rule."""

    def __init__(self, clip_norm: float = 0.0):
        self.clip_norm = clip_norm
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.t = 0
        self._buffers: dict[str, np.ndarray] = {}   # scratch space, not state: never saved

    def state_arrays(self) -> dict:
        """Every state array as ``{"name/slot": array}`` (for checkpoints)."""
        return {f"{name}/{slot}": a for name, slots in self.state.items() for slot, a in slots.items()}

    def load_state_arrays(self, arrays: dict, t: int) -> None:
        """Restore what :meth:`state_arrays` returned, and the step count ``t``."""
        self.t = t
        self.state = {}
        for key, a in arrays.items():
            name, slot = key.rsplit("/", 1)
            self.state.setdefault(name, {})[slot] = np.array(a)

    def _slot(self, name, slot, like):
        slots = self.state.setdefault(name, {})
        if slot not in slots:
            slots[slot] = np.zeros_like(like)
        return slots[slot]

    def step(self, params: dict, grads: dict, lr: float, lrs: dict | None = None) -> None:
        """One update; ``lrs`` may give a learning rate per parameter name."""
        self.t += 1
        scale = clip_scale(grads, self.clip_norm)
        for name, g in grads.items():
            rate = (lrs or {}).get(name, lr)
            if isinstance(g, SparseRows):
                rows = g.rows
                self.update(name, params[name], g.values * scale if scale != 1.0 else g.values, rate, rows)
            else:
                self.update(name, params[name], g * scale if scale != 1.0 else g, rate, None)

    def update(self, name, theta, g, lr, rows):
        raise NotImplementedError


def clip_scale(grads: dict, max_norm: float) -> float:
    """The factor that brings the global gradient norm down to ``max_norm`` (1 if below)."""
    if not max_norm:
        return 1.0
    total = 0.0
    for g in grads.values():
        v = g.values if isinstance(g, SparseRows) else g
        total += float(np.vdot(v, v))
    norm = np.sqrt(total)
    return max_norm / norm if norm > max_norm else 1.0


def _at(array, rows):
    """The whole array, or its rows (a copy) for a sparse update."""
    return array if rows is None else array[rows]


def _put(array, rows, value):
    if rows is None:
        array[...] = value
    else:
        array[rows] = value


class SGD(Optimizer):
    """θ ← θ - η g; with ``momentum`` μ: v ← μv - ηg, θ ← θ + v; Nesterov: θ ← θ + μv - ηg."""

    def __init__(self, momentum: float = 0.0, nesterov: bool = False, clip_norm: float = 0.0):
        super().__init__(clip_norm)
        self.momentum, self.nesterov = momentum, nesterov

    def update(self, name, theta, g, lr, rows):
        if not self.momentum:
            _put(theta, rows, _at(theta, rows) - lr * g)
            return
        v_all = self._slot(name, "v", theta)
        v = self.momentum * _at(v_all, rows) - lr * g
        _put(v_all, rows, v)
        step = self.momentum * v - lr * g if self.nesterov else v
        _put(theta, rows, _at(theta, rows) + step)


class AdaGrad(Optimizer):
    """G ← G + g²;  θ ← θ - η g / (√G + ε)."""

    def __init__(self, eps: float = 1e-8, clip_norm: float = 0.0):
        super().__init__(clip_norm)
        self.eps = eps

    def update(self, name, theta, g, lr, rows):
        G_all = self._slot(name, "G", theta)
        G = _at(G_all, rows) + g * g
        _put(G_all, rows, G)
        _put(theta, rows, _at(theta, rows) - lr * g / (np.sqrt(G) + self.eps))


class RMSprop(Optimizer):
    """r ← ρr + (1-ρ)g²;  θ ← θ - η g / (√r + ε)."""

    def __init__(self, rho: float = 0.9, eps: float = 1e-8, clip_norm: float = 0.0):
        super().__init__(clip_norm)
        self.rho, self.eps = rho, eps

    def update(self, name, theta, g, lr, rows):
        r_all = self._slot(name, "r", theta)
        r = self.rho * _at(r_all, rows) + (1 - self.rho) * g * g
        _put(r_all, rows, r)
        _put(theta, rows, _at(theta, rows) - lr * g / (np.sqrt(r) + self.eps))


class Adam(Optimizer):
    """m ← β1 m + (1-β1) g;  v ← β2 v + (1-β2) g²;  θ ← θ - η m̂ / (√v̂ + ε)
    with bias corrections m̂ = m / (1-β1ᵗ), v̂ = v / (1-β2ᵗ). ``weight_decay`` makes it
    AdamW: θ ← θ - η λ θ, decoupled from the gradient."""

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0, clip_norm: float = 0.0):
        super().__init__(clip_norm)
        self.beta1, self.beta2, self.eps, self.weight_decay = beta1, beta2, eps, weight_decay

    def update(self, name, theta, g, lr, rows):
        m_all, v_all = self._slot(name, "m", theta), self._slot(name, "v", theta)
        b1, b2 = self.beta1, self.beta2
        step_size = lr / (1 - b1 ** self.t)                 # η / (1 - β1ᵗ)
        v_scale = 1.0 / np.sqrt(1 - b2 ** self.t)           # √v̂ = √v / √(1 - β2ᵗ)
        if rows is not None:  # sparse rows: the same rule on gathered copies, put back
            m = b1 * m_all[rows] + (1 - b1) * g
            v = b2 * v_all[rows] + (1 - b2) * g * g
            m_all[rows], v_all[rows] = m, v
            old = theta[rows]
            new = old - step_size * m / (np.sqrt(v) * v_scale + self.eps)
            if self.weight_decay:
                new -= lr * self.weight_decay * old
            theta[rows] = new
            return
        # dense: in place, one scratch buffer, no temporaries
        s = reusable(self._buffers, name, theta)
        np.multiply(g, 1 - b1, out=s)
        m_all *= b1
        m_all += s
        np.multiply(g, g, out=s)
        s *= 1 - b2
        v_all *= b2
        v_all += s
        np.sqrt(v_all, out=s)
        s *= v_scale
        s += self.eps
        np.divide(m_all, s, out=s)
        s *= step_size
        if self.weight_decay:
            theta *= 1 - lr * self.weight_decay
        theta -= s


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": lambda **kw: SGD(**{"momentum": 0.9, **kw}),
    "nesterov": lambda **kw: SGD(**{"momentum": 0.9, **kw, "nesterov": True}),
    "adagrad": AdaGrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": lambda **kw: Adam(**{"weight_decay": 0.01, **kw}),
}


def make_optimizer(config: dict) -> Optimizer:
    """The optimizer the config's ``[optimizer]`` section names, given only the options its
    update rule takes."""
    o = config["optimizer"]
    options = {k: v for k, v in o.items() if k not in ("name", "lr")}
    if o["name"] not in ("momentum", "nesterov"):
        options.pop("momentum")
    if o["name"] not in ("adam", "adamw"):
        for k in ("beta1", "beta2", "weight_decay"):
            options.pop(k)
    if o["name"] in ("sgd", "momentum", "nesterov"):
        options.pop("eps")
    if o["name"] == "adamw" and not options.get("weight_decay"):
        options.pop("weight_decay")
    return OPTIMIZERS[o["name"]](**options)
