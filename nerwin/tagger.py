"""A trained tagger: vocabulary, label set, network and its preprocessing, saved as one file.

The model file is a ``.npz`` (read with ``allow_pickle=False``) holding every parameter, the
vocabulary as UTF-8 text, and a JSON header (format version, resolved config, entity types,
shapes). It is written to a temporary file in the same folder and renamed, so a crash never
leaves a half-written model in place.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from nerwin import config as cfg
from nerwin import tags as T
from nerwin.data import Corpus
from nerwin.embeddings import Pretrained, load_pretrained
from nerwin.errors import DataError
from nerwin.files import atomic_write
from nerwin.features import CASINGS, SPECIALS, Vocabulary, Windows
from nerwin.model import WindowNetwork

FORMAT = "nerwin-model"
VERSION = 1
MODEL_FILE = "model.npz"


def network_settings(config: dict, labels: T.LabelSet) -> dict:
    """The network's loss and regularisation settings from a config."""
    reg, loss = config["regularization"], config["loss"]
    weights = np.ones(len(labels), np.float32)
    weights[0] = loss["o_weight"]
    return dict(
        activation=config["model"]["activation"], loss=loss["name"],
        dropout_input=reg["dropout_input"], dropout_hidden=reg["dropout_hidden"],
        l2=reg["l2"], l2_biases=reg["l2_biases"], l2_embeddings=reg["l2_embeddings"],
        finetune=config["embeddings"]["finetune"],
        # "seen": only vectors of words seen in training move; <unk>, <s>, </s> stay put
        frozen_rows=np.arange(len(SPECIALS)) if config["embeddings"]["finetune"] == "seen" else (),
        class_weights=None if loss["o_weight"] == 1.0 else weights,
        maxout_pieces=config["model"]["maxout_pieces"],
    )


class Tagger:
    """Turns words into tags: features, network, decoding."""

    def __init__(self, network: WindowNetwork, vocab: Vocabulary, labels: T.LabelSet,
                 config: dict, pretrained: Pretrained | None = None):
        self.network, self.vocab, self.labels, self.config = network, vocab, labels, config
        self._pretrained = pretrained

    @classmethod
    def create(cls, config: dict, train: Corpus, pretrained: Pretrained | None, rng) -> "Tagger":
        """A fresh tagger for a training corpus: its vocabulary, its entity types, new weights."""
        emb, model = config["embeddings"], config["model"]
        labels = T.LabelSet(train.entity_types(), config["data"]["scheme"])
        vocab = Vocabulary.build(train.words, pretrained, emb["min_count"], emb["lowercase"], emb["normalize_digits"])
        vectors, dim = None, emb["dim"]
        if pretrained is not None:
            dim = pretrained.dim
            rows = pretrained.lookup(vocab.words)
            vectors = np.full((len(vocab), dim), np.nan, np.float32)
            vectors[rows >= 0] = pretrained.vectors[rows[rows >= 0]]
        network = WindowNetwork.create(
            rng, len(vocab), dim, len(CASINGS), emb["casing_dim"], model["window"], model["hidden"],
            len(labels), init=model["init"], word_vectors=vectors, prelu_init=model["prelu_init"],
            **network_settings(config, labels),
        )
        return cls(network, vocab, labels, config, pretrained)

    # ---------------------------------------------------------------- tagging
    @property
    def pretrained(self) -> Pretrained | None:
        """Pretrained vectors for words outside the vocabulary, loaded on first use."""
        if self._pretrained is None:
            source = self.config["embeddings"]["source"]
            try:
                self._pretrained = load_pretrained(source)
            except DataError:
                self._pretrained = False  # unavailable: such words fall back to <unk>
        return self._pretrained or None

    def featurize(self, words, lengths) -> Windows:
        return self.vocab.featurize(words, lengths, self.config["model"]["window"], self.pretrained)

    def predict_classes(self, windows: Windows) -> np.ndarray:
        """The highest-scoring class of each window."""
        S = self.network.scores(windows.words, windows.casing, windows.extra,
                                self.config["train"]["eval_batch_size"])
        return S.argmax(axis=1)

    def predict_spans(self, words, lengths) -> T.Spans:
        """Entity spans (token start, exclusive end, index into ``labels.types``)."""
        first = Corpus(words, lengths).first
        return self.labels.decode(self.predict_classes(self.featurize(words, lengths)), first)

    def tag(self, corpus: Corpus, scheme: str | None = None) -> np.ndarray:
        """Predicted tag strings for a corpus, in ``scheme`` (default: the corpus's own, or iob2)."""
        scheme = scheme or corpus.scheme or "iob2"
        first = corpus.first
        sp = self.predict_spans(corpus.words, corpus.lengths)
        prefix, type_ = T.encode(sp, corpus.n_tokens, scheme, first)
        return T.to_strings(prefix, type_, self.labels.types)

    # ---------------------------------------------------------------- files
    def save(self, path) -> None:
        """Write the model atomically: temporary file in the same folder, fsync, rename."""
        path = Path(path)
        params = self.network.params
        header = {
            "format": FORMAT, "version": VERSION,
            "config": cfg.dumps(self.config),
            "types": self.labels.types, "scheme": self.labels.scheme,
            "lowercase": self.vocab.lowercase, "digits": self.vocab.digits,
            "shapes": {k: list(v.shape) for k, v in params.items()},
        }
        arrays = {f"param/{k}": v for k, v in params.items()}
        arrays["vocab"] = np.frombuffer("\n".join(self.vocab.words).encode("utf-8"), np.uint8)
        arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write(path, buffer.getvalue())

    @classmethod
    def load(cls, path) -> "Tagger":
        """Read a model file, or the model of a run folder; refuses anything else clearly."""
        path = resolve_model_path(path)
        try:
            with np.load(path, allow_pickle=False) as npz:
                header = json.loads(npz["header"].tobytes().decode("utf-8"))
                if header.get("format") != FORMAT:
                    raise ValueError("no nerwin header")
                if header.get("version") != VERSION:
                    raise DataError(
                        f"{path}: model format version {header.get('version')}, "
                        f"this nerwin reads version {VERSION}"
                    )
                params = {k.removeprefix("param/"): npz[k] for k in npz.files if k.startswith("param/")}
                words = npz["vocab"].tobytes().decode("utf-8").split("\n")
        except DataError:
            raise
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, EOFError):
            raise DataError(f"{path}: not a nerwin model (expected a .npz written by 'nerwin train')") from None
        config = cfg.loads(header["config"], f"{path} (stored config)")
        labels = T.LabelSet(header["types"], header["scheme"])
        vocab = Vocabulary(words, header["lowercase"], header["digits"])
        expected = {k: tuple(v) for k, v in header["shapes"].items()}
        actual = {k: v.shape for k, v in params.items()}
        if expected != actual or actual.get("E", (None,))[0] != len(vocab) or actual["c"][0] != len(labels):
            raise DataError(f"{path}: parameter shapes do not match the model's header")
        network = WindowNetwork(params, **network_settings(config, labels))
        return cls(network, vocab, labels, config)


def resolve_model_path(path) -> Path:
    """A model file, or ``model.npz`` inside a run folder."""
    path = Path(path)
    if path.is_dir():
        if not (path / MODEL_FILE).is_file():
            raise DataError(f"{path}: run folder has no {MODEL_FILE} (did training finish an epoch?)")
        return path / MODEL_FILE
    if not path.exists():
        raise DataError(f"{path}: no such model file or run folder")
    return path
