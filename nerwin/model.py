"""The window network and its hand-written backpropagation.

For a window of w tokens, each token contributes its word vector (row of E, d values), its
casing vector (row of C, k values) and, with suffix features, its suffix vector (row of A,
a values); the w word vectors, then the w casing vectors, then the w suffix vectors form
x (w·(d+k+a)). Then

    h1 = f(W1 x + b1),   h2 = f(W2 h1 + b2),   s = Uᵀ h2 + c

with one score per tag, and the loss J(s, y) (softmax cross-entropy or multiclass hinge)
plus the L2 penalty λ Σ θ². Any number of hidden layers works (``hidden = [H]`` with one
output is the lecture's ``s = uᵀ f(W x + b)``). Backward, from ``delta = ∂J/∂s``:

    δ_L = (U δ) ∘ f'(z_L) ... δ_1 = (W2ᵀ δ_2) ∘ f'(z_1),   ∂J/∂W_l = Δ_lᵀ H_{l-1},
    ∂J/∂x = W1ᵀ δ_1, split into w vectors per table and added into their rows of E, C and A.

Shapes: N windows; V words; E (V, d); C (n_casings, k); A (n_suffixes, a); W1 (H1, w(d+k+a));
W2 (H2, H1); U (H_last, C_tags). Parameters and gradients are two dicts with the same keys;
the gradients of E, C and A are :class:`~nerwin.nn.sparse.SparseRows`.
"""

from __future__ import annotations

import numpy as np

from nerwin.features import SPECIALS, UNK
from nerwin.nn.activations import ACTIVATIONS, maxout, prelu, relu
from nerwin.nn.buffers import reusable
from nerwin.nn.initializers import INITIALIZERS
from nerwin.nn.layers import ALL, dropout, embed, linear, score, word_dropout
from nerwin.nn.losses import LOSSES
from nerwin.nn.sparse import SparseRows

EMBEDDINGS = ("E", "C", "A")


class WindowNetwork:
    """Parameters plus the settings that shape the forward pass and the loss."""

    def __init__(self, params: dict, activation="relu", loss="softmax", dropout_input=0.0,
                 dropout_hidden=0.0, l2=0.0, l2_biases=False, l2_embeddings=False,
                 finetune="all", frozen_rows=(), class_weights=None, maxout_pieces=2, word_dropout=0.0):
        self.params = params
        self.activation, self.loss = activation, loss
        self.dropout_input, self.dropout_hidden = dropout_input, dropout_hidden
        self.word_dropout = word_dropout
        self.l2, self.l2_biases, self.l2_embeddings = l2, l2_biases, l2_embeddings
        self.finetune = finetune
        self.frozen_rows = np.asarray(frozen_rows, dtype=np.int64)
        self.maxout_pieces = maxout_pieces
        self.class_weights = class_weights
        self._buffers: dict[str, np.ndarray] = {}   # scratch space for the L2 term

    # ----------------------------------------------------------------- creation
    @classmethod
    def create(cls, rng, n_words, word_dim, n_casings, casing_dim, window, hidden, n_out,
               init="he_uniform", dtype=np.float32, word_vectors=None, prelu_init=0.25,
               n_suffixes=0, suffix_dim=0, **settings):
        """Fresh parameters: weights from ``init``, biases zero, E from ``word_vectors``
        where given (rows that are NaN, or all rows if None, get N(0, σ) with σ the
        pretrained vectors' std, or 0.1); C and, with ``suffix_dim``, A get N(0, σ) too."""
        params = {}
        sigma, known = 0.1, None
        if word_vectors is not None:
            known = np.isfinite(word_vectors).all(axis=1)
            sigma = float(np.std(word_vectors[known])) if known.any() else sigma
        E = (rng.standard_normal((n_words, word_dim)) * sigma).astype(dtype)
        if known is not None:
            E[known] = word_vectors[known]
        params["E"] = E
        if casing_dim:
            params["C"] = (rng.standard_normal((n_casings, casing_dim)) * sigma).astype(dtype)
        if suffix_dim:
            params["A"] = (rng.standard_normal((n_suffixes, suffix_dim)) * sigma).astype(dtype)
        n_in = window * (word_dim + casing_dim + suffix_dim)
        make = INITIALIZERS[init]
        activation = settings.get("activation", "relu")
        pieces = settings.get("maxout_pieces", 2) if activation == "maxout" else 1
        for l, size in enumerate(hidden, start=1):
            params[f"W{l}"] = make(rng, (size * pieces, n_in), dtype)
            params[f"b{l}"] = np.zeros(size * pieces, dtype)
            if activation == "prelu":
                params[f"a{l}"] = np.full(size, prelu_init, dtype)
            n_in = size
        params["U"] = make(rng, (n_out, n_in), dtype).T.copy()
        params["c"] = np.zeros(n_out, dtype)
        return cls(params, **settings)

    def activate(self, Z, layer: int, grads=None):
        """``h_l = f(z_l)`` for hidden layer ``layer``, as ``(h, backprop)``."""
        if self.activation == "prelu":
            return prelu(Z, self.params[f"a{layer}"], grads, f"a{layer}")
        if self.activation == "maxout":
            return maxout(Z, self.maxout_pieces)
        f = ACTIVATIONS[self.activation]
        return f(Z, out=Z) if f is relu else f(Z)   # Z is this pass's own buffer: no copy

    @property
    def train_words(self) -> bool:
        return self.finetune != "none"

    @property
    def n_hidden(self) -> int:
        return sum(1 for k in self.params if k.startswith("W"))

    def astype(self, dtype) -> "WindowNetwork":
        """A copy with every parameter in ``dtype`` (float64 for the gradient checker)."""
        clone = WindowNetwork.__new__(WindowNetwork)
        clone.__dict__.update(self.__dict__)
        clone._buffers = {}
        clone.params = {k: v.astype(dtype, order="C") for k, v in self.params.items()}
        return clone

    # --------------------------------------------------------- forward, backward
    def forward(self, word_ids, case_ids, rng=None, extra=None, suffix_ids=None):
        """Scores S (N, C) of the windows, and ``backprop(δ) -> grads``:

            h_0 = x,   z_l = W_l h_{l-1} + b_l,   h_l = f(z_l),   s = Uᵀ h_L + c

        with inverted dropout on x and on each h_l when ``rng`` draws masks (None: no
        dropout); before that, with ``word_dropout``, each word id of the windows (paddings
        aside) becomes ``<unk>``'s with that probability, drawn from ``rng`` too.
        ``backprop`` takes δ = ∂J/∂s (N, C) and sends it back down,

            δ_L = (U δ) ∘ f'(z_L),   δ_l = (W_{l+1}ᵀ δ_{l+1}) ∘ f'(z_l),   dX = W1ᵀ δ_1,

        returning the gradient of every parameter (E, C and A as SparseRows). Only the
        columns of x whose vectors train are sent back: none of E's when ``finetune`` is
        "none". Word ids V and beyond index ``extra`` (k, d), pretrained vectors the
        vocabulary lacks (prediction only: they do not train). ``suffix_ids`` (N, w) index
        A, for a network that has it.
        """
        p, grads = self.params, {}
        word_ids = word_dropout(word_ids, self.word_dropout, rng, SPECIALS.index(UNK), len(SPECIALS))
        x, back_x, trained = self._input(word_ids, case_ids, suffix_ids, grads, extra)  # trained: x's columns that train
        h, back_drop_x = dropout(x, self.dropout_input, rng, inplace=True, dx_columns=trained)
        layers = []
        for l in range(1, self.n_hidden + 1):
            z, back_z = linear(p, grads, f"W{l}", f"b{l}", h, trained if l == 1 else ALL)  # z_l = W_l h_{l-1} + b_l
            h, back_f = self.activate(z, l, grads)                                    # h_l = f(z_l)
            h, back_drop = dropout(h, self.dropout_hidden, rng, inplace=True)
            layers.append((back_z, back_f, back_drop))
        s, back_s = score(p, grads, "U", "c", h)                                      # s = Uᵀ h_L + c

        def backprop(delta):
            dh = back_s(delta)                                                        # ∂J/∂h_L = U δ
            for back_z, back_f, back_drop in reversed(layers):
                delta = back_f(back_drop(dh))                                         # δ_l = ∂J/∂h_l ∘ f'(z_l)
                dh = back_z(delta)                                                    # ∂J/∂h_{l-1} = W_lᵀ δ_l
            back_x(back_drop_x(dh))                                                   # dX = W1ᵀ δ_1, into E, C, A
            return grads

        return s, backprop

    def loss_and_grads(self, word_ids, case_ids, y, rng=None, suffix_ids=None):
        """Mean loss over the batch plus the L2 penalty, and the gradient of every parameter.

        ``rng`` draws the dropout masks (None: no dropout). The word-vector gradient is
        computed only when ``train_words`` is set.
        """
        s, backprop = self.forward(word_ids, case_ids, rng, suffix_ids=suffix_ids)
        loss, delta = LOSSES[self.loss](s, y, self.class_weights)
        grads = backprop(delta)
        return loss + self._l2(grads), grads

    def scores(self, word_ids, case_ids, extra=None, batch_size: int = 2048, suffix_ids=None) -> np.ndarray:
        """Scores S (N, C) for prediction: :meth:`forward` without dropout, ``batch_size``
        windows at a time, nothing kept for backward. Word ids V and beyond index
        ``extra`` (k, d), vectors the vocabulary lacks."""
        p = self.params
        S = np.empty((len(word_ids), len(p["c"])), np.result_type(*p.values()))
        for start in range(0, len(word_ids), batch_size):
            stop = start + batch_size
            suffixes = None if suffix_ids is None else suffix_ids[start:stop]
            S[start:stop] = self.forward(word_ids[start:stop], case_ids[start:stop], extra=extra,
                                         suffix_ids=suffixes)[0]
        return S

    def _input(self, word_ids, case_ids, suffix_ids, grads, extra=None):
        """The windows x (N, w·d + w·k + w·a): the w word vectors, then the w casing vectors,
        then the w suffix vectors (the tables the network has); ``backprop(dx)`` for the
        columns ``trained`` of x, adding into ``grads``' E, C and A. Ids beyond E index
        ``extra``, gathered without copying E; words do not train then."""
        E = self.params["E"]
        n_word_columns = word_ids.shape[1] * E.shape[1]
        if extra is not None and extra.size:
            beyond = word_ids >= len(E)
            xw = E.take(np.where(beyond, 0, word_ids), axis=0)
            xw[beyond] = extra.astype(E.dtype, copy=False)[word_ids[beyond] - len(E)]
            xw, back_words = xw.reshape(len(word_ids), -1), None
        else:
            xw, back_words = embed(E, word_ids)
        if not self.train_words:
            back_words = None
        trained = ALL if back_words is not None else slice(n_word_columns, None)
        tables = [(name, *embed(self.params[name], ids))                    # (name, vectors, backprop)
                  for name, ids in (("C", case_ids), ("A", suffix_ids)) if name in self.params]
        x = np.concatenate([xw] + [xt for _, xt, _ in tables], axis=1) if tables else xw  # one copy each

        def backprop(dx):
            start = 0            # dx holds the columns ``trained``: E's only when words train
            if back_words is not None:
                grads["E"], start = back_words(dx[:, :n_word_columns]), n_word_columns
            for name, xt, back in tables:
                grads[name] = back(dx[:, start:start + xt.shape[1]])
                start += xt.shape[1]

        return x, backprop, trained

    def updates(self, grads: dict) -> dict:
        """The gradients training applies: without the word-vector rows kept frozen
        (``finetune = "seen"`` freezes the special rows)."""
        if self.frozen_rows.size and "E" in grads:
            grads = {**grads, "E": grads["E"].without(self.frozen_rows)}
        return grads

    def _l2(self, grads) -> float:
        """Add λ Σ θ² to the loss and 2λθ to the gradients of the regularised parameters."""
        if not self.l2:
            return 0.0
        penalty = 0.0
        for name, theta in self.params.items():
            if name in EMBEDDINGS:
                g = grads.get(name)
                if not self.l2_embeddings or g is None:
                    continue
                rows = theta[g.rows]       # only the rows the batch touched (sparse update)
                penalty += float((rows * rows).sum())
                g.values += 2 * self.l2 * rows
                continue
            is_weight = name.startswith("W") or name == "U"   # else a bias or a PReLU slope
            if not is_weight and not self.l2_biases:
                continue
            scratch = reusable(self._buffers, name, theta)
            penalty += float(np.multiply(theta, theta, out=scratch).sum())
            grads[name] += np.multiply(theta, 2 * self.l2, out=scratch)
        return self.l2 * penalty


def network_settings(config: dict, n_classes: int) -> dict:
    """The keyword settings of :class:`WindowNetwork` (activation, loss, regularisation,
    fine-tuning) that a config gives, for a network of ``n_classes`` tags (class 0 is O)."""
    reg, loss = config["regularization"], config["loss"]
    weights = np.ones(n_classes, np.float32)
    weights[0] = loss["o_weight"]
    return dict(
        activation=config["model"]["activation"], loss=loss["name"],
        dropout_input=reg["dropout_input"], dropout_hidden=reg["dropout_hidden"],
        l2=reg["l2"], l2_biases=reg["l2_biases"], l2_embeddings=reg["l2_embeddings"],
        finetune=config["embeddings"]["finetune"],
        # "seen": only vectors of words seen in training move; <unk>, <s>, </s> stay put (with
        # word dropout too: <unk> keeps its first vector, and the layers learn to read it)
        frozen_rows=np.arange(len(SPECIALS)) if config["embeddings"]["finetune"] == "seen" else (),
        class_weights=None if loss["o_weight"] == 1.0 else weights,
        maxout_pieces=config["model"]["maxout_pieces"],
        word_dropout=reg["word_dropout"],
    )


def dense_grads(grads: dict, params: dict) -> dict:
    """Gradients as dense arrays (embedding tables scattered out), for checking."""
    return {k: (g.to_dense(params[k].shape) if isinstance(g, SparseRows) else g) for k, g in grads.items()}
