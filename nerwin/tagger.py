"""A trained tagger: vocabulary, label set, network and its preprocessing, saved as one file.

The model file is a ``.npz`` (read with ``allow_pickle=False``) holding every parameter, the
vocabulary (and, with suffix features, the suffix table) as UTF-8 text, and a JSON header
(format version, resolved config, entity types, shapes). It is written to a temporary file
in the same folder and renamed, so a crash never leaves a half-written model in place.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from nerwin import config as cfg
from nerwin import tags as T
from nerwin.consistency import DocumentConsistency
from nerwin.data import Corpus
from nerwin.decode import viterbi
from nerwin.embeddings import Pretrained, load_pretrained
from nerwin.errors import ConfigError, DataError, shorten
from nerwin.files import atomic_write, npz_bytes, read_npz
from nerwin.features import Suffixes, Vocabulary, Windows, n_casings
from nerwin.model import WindowNetwork, network_settings

FORMAT = "nerwin-model"
VERSION = 2  # 2: the window is the w word vectors, then the w casing vectors
MODEL_FILE = "model.npz"
# Models shipped inside the package as nerwin/models/NAME.npz, each with its card NAME.json.
# "en": English, trained on CoNLL-2003 by `make model`; the default of load, predict and eval.
SHIPPED_MODELS = resources.files("nerwin") / "models"
SHIPPED_NAMES = ("en",)
DEFAULT_MODEL = "en"


class Tagger:
    """Turns words into tags: features, network, decoding."""

    def __init__(self, network: WindowNetwork, vocab: Vocabulary, labels: T.LabelSet,
                 config: dict, pretrained: Pretrained | None = None, suffixes: Suffixes | None = None):
        self.network, self.vocab, self.labels, self.config = network, vocab, labels, config
        self.suffixes = suffixes      # the suffix table, for a model with suffix features
        self._pretrained = pretrained

    @classmethod
    def create(cls, config: dict, train: Corpus, pretrained: Pretrained | None, rng) -> "Tagger":
        """A fresh tagger for a training corpus: its vocabulary, its entity types, new weights."""
        emb, model = config["embeddings"], config["model"]
        labels = T.LabelSet(train.entity_types(), config["data"]["scheme"])
        vocab = Vocabulary.build(train.words, pretrained, emb["min_count"], emb["lowercase"], emb["normalize_digits"])
        suffixes = None
        if emb["suffix_length"]:
            suffixes = Suffixes.learn(train.words, emb["suffix_length"], emb["suffix_min_count"],
                                      emb["lowercase"], emb["normalize_digits"])
        vectors, dim = None, emb["dim"]
        if pretrained is not None:
            dim = pretrained.dim
            rows = pretrained.lookup(vocab.words)
            vectors = np.full((len(vocab), dim), np.nan, np.float32)
            vectors[rows >= 0] = pretrained.rows(rows[rows >= 0])
        network = WindowNetwork.create(
            rng, len(vocab), dim, n_casings(emb["uncased"]), emb["casing_dim"], model["window"], model["hidden"],
            len(labels), init=model["init"], word_vectors=vectors, prelu_init=model["prelu_init"],
            n_suffixes=len(suffixes) if suffixes else 0, suffix_dim=emb["suffix_dim"] if suffixes else 0,
            **network_settings(config, len(labels)),
        )
        return cls(network, vocab, labels, config, pretrained, suffixes)

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
        return self.vocab.featurize(words, lengths, self.config["model"]["window"], self.pretrained,
                                    self.config["embeddings"]["uncased"], self.suffixes)

    def scores(self, windows: Windows) -> np.ndarray:
        """S (N, C): the network's class scores of each window."""
        return self.network.scores(windows.words, windows.casing, windows.extra,
                                   self.config["train"]["eval_batch_size"], windows.suffix)

    def decode(self, S: np.ndarray, lengths) -> np.ndarray:
        """Each token's class from the scores: per window (argmax), or the best sequence
        the tag scheme allows per sentence (viterbi), as ``model.decode`` says."""
        if self.config["model"]["decode"] == "viterbi":
            return viterbi(S, lengths, self.labels)
        return S.argmax(axis=1)

    def predict_classes(self, windows: Windows, lengths) -> np.ndarray:
        """The decoded class of each window; ``lengths`` are the sentence lengths."""
        return self.decode(self.scores(windows), lengths)

    def predict_spans(self, words, lengths) -> T.Spans:
        """Entity spans (token start, exclusive end, index into ``labels.types``)."""
        first = Corpus(words, lengths).first
        return self.labels.decode(self.predict_classes(self.featurize(words, lengths), lengths), first)

    def consistency(self) -> DocumentConsistency:
        """A fresh pass of the document-level rule ``model.consistency`` over entity spans
        (:mod:`nerwin.consistency`), to be given a stream's documents in order."""
        return DocumentConsistency(self.config["model"]["consistency"], self.labels.types)

    def with_consistency(self, rule: str) -> "Tagger":
        """This tagger decoding with the consistency rule ``rule`` (one of
        :data:`~nerwin.consistency.RULES`): a new tagger sharing the network, vocabulary and vectors."""
        DocumentConsistency(rule, self.labels.types)     # refuses an unknown rule
        config = {**self.config, "model": {**self.config["model"], "consistency": rule}}
        new = object.__new__(type(self))      # not copy.copy: pickling a tagger writes its model file
        new.__dict__.update(self.__dict__, config=config)
        return new

    def tag(self, corpus: Corpus, scheme: str | None = None, consistency: bool = True) -> np.ndarray:
        """Predicted tag strings for a corpus, in ``scheme`` (default: the corpus's own, or iob2);
        the consistency rule runs within each of the corpus's documents unless ``consistency``
        is False (the network's own decoding, which training chooses its epoch by)."""
        scheme = scheme or corpus.scheme or "iob2"
        first = corpus.first
        sp = self.predict_spans(corpus.words, corpus.lengths)
        if consistency:
            doc_starts = corpus.offsets[corpus.document_starts]         # first token of each document
            sp = self.consistency()(sp, corpus.words, np.searchsorted(doc_starts, sp.start, side="right") - 1)
        prefix, type_ = T.encode(sp, corpus.n_tokens, scheme, first)
        return T.to_strings(prefix, type_, self.labels.types)

    # ---------------------------------------------------------------- files
    def save(self, path) -> None:
        """Write the model atomically: temporary file in the same folder, fsync, rename."""
        atomic_write(Path(path), self.file_bytes())

    def file_bytes(self) -> bytes:
        """The bytes of the model file: the same tagger always gives the same bytes."""
        params = self.network.params
        header = {
            "format": FORMAT, "version": VERSION,
            "config": cfg.dumps(cfg.stored(self.config)),
            "types": self.labels.types, "scheme": self.labels.scheme,
            "lowercase": self.vocab.lowercase, "digits": self.vocab.digits,
            "shapes": {k: list(v.shape) for k, v in params.items()},
        }
        arrays = {f"param/{k}": v for k, v in params.items()}
        arrays["vocab"] = _text_array(self.vocab.words)
        if self.suffixes is not None:
            arrays["suffixes"] = _text_array(self.suffixes.words)
        arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8)
        return npz_bytes(arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Tagger":
        """A model from the bytes of a model file (:meth:`file_bytes`), checked as :meth:`load` checks."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / MODEL_FILE
            path.write_bytes(data)
            return cls.load(path)

    def __reduce__(self):
        """Pickled (to send it to another process) as its model file's bytes, never its
        pretrained vectors: the copy reopens them when it first needs them."""
        return Tagger.from_bytes, (self.file_bytes(),)

    @classmethod
    def load(cls, path) -> "Tagger":
        """Read a model file, or the model of a run folder; refuses anything else clearly.

        Nothing in the file is unpickled. The header, the parameters and the vocabulary must
        agree with each other (the network must score a window), so a damaged or edited file
        is a :class:`DataError` here rather than a crash while tagging.
        """
        with model_file(path) as path:
            header, params, words, suffix_words = _read_model(path)
        try:
            config = cfg.loads(header["config"], f"{path} (stored config)")
        except ConfigError as e:
            raise DataError(str(e)) from None
        labels = T.LabelSet(header["types"], header["scheme"])
        vocab = Vocabulary(words, header["lowercase"], header["digits"])
        if not vocab.is_unique:
            raise DataError(f"{path}: the vocabulary lists a word twice (damaged file?)")
        suffixes = _suffixes(suffix_words, config, header, params, path)
        expected = {k: tuple(v) for k, v in header["shapes"].items()}
        actual = {k: v.shape for k, v in params.items()}
        if expected != actual:
            diff = sorted(k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k))
            k = diff[0]
            raise DataError(
                f"{path}: parameter shapes do not match the model's header: {k} is "
                f"{actual.get(k, 'missing')}, the header says {expected.get(k, 'nothing')}"
            )
        if actual.get("E", (None,))[0] != len(vocab) or actual.get("c", (None,))[0] != len(labels):
            raise DataError(f"{path}: parameter shapes do not match the model's vocabulary and tags")
        network = WindowNetwork(params, **network_settings(config, len(labels)))
        _check_network(network, config, len(labels), path)
        return cls(network, vocab, labels, config, suffixes=suffixes)


def load_shared(path) -> Tagger:
    """The tagger of a shipped model's name, a model file or a run folder, loaded once per
    process and shared by every caller in it (the workers of ``--jobs`` and Dask, unpickled
    predictors)."""
    return _shared(model_key(path))


def model_key(path) -> str:
    """What names a model in any process on this machine: a shipped model's name as it is,
    else the absolute path of the model file."""
    if isinstance(path, str) and path in SHIPPED_NAMES:
        return path
    return str(resolve_model_path(path).resolve())


@lru_cache(maxsize=4)
def _shared(path: str) -> Tagger:
    return Tagger.load(path)


def shared_loads() -> int:
    """How many model files this process has read for :func:`load_shared`."""
    return _shared.cache_info().misses


_HEADER = {"config": str, "types": list, "scheme": str, "lowercase": bool, "digits": bool, "shapes": dict}


def _text_array(words) -> np.ndarray:
    """Words as one array of UTF-8 bytes, a line each (how a model file stores a word list)."""
    return np.frombuffer("\n".join(words).encode("utf-8"), np.uint8)


def _read_words(arrays: dict, name: str, what: str, path) -> list[str] | None:
    """The word list stored as ``name`` (:func:`_text_array`), None if the file has none."""
    if name not in arrays:
        return None
    try:
        if arrays[name].dtype == np.uint8:
            return arrays[name].tobytes().decode("utf-8").split("\n")
    except UnicodeDecodeError:
        pass
    raise DataError(f"{path}: cannot read the model's {what} (damaged file?)")


def _suffixes(words: list[str] | None, config: dict, header: dict, params: dict, path) -> Suffixes | None:
    """The suffix table of a model file, checked against its config and the table A."""
    length = config["embeddings"]["suffix_length"]
    if not length and words is None and "A" not in params:
        return None
    if not length or words is None or "A" not in params:
        raise DataError(f"{path}: the suffix features are incomplete (embeddings.suffix_length, the "
                        "'suffixes' array and the parameter A go together; damaged file?)")
    suffixes = Suffixes(words, length, header["lowercase"], header["digits"])
    if not suffixes.is_unique:
        raise DataError(f"{path}: the suffix table lists a suffix twice (damaged file?)")
    if len(params["A"]) != len(suffixes):
        raise DataError(f"{path}: the suffix vectors have {len(params['A'])} rows, the suffix table {len(suffixes)}")
    return suffixes


def _read_model(path: Path) -> tuple[dict, dict, list[str], list[str] | None]:
    """The header, parameters, vocabulary words and suffixes (None without suffix features)
    of a model file, checked for their kinds:
    sizes before anything is allocated (:func:`~nerwin.files.read_npz`), then the header's
    fields, distinct entity types, and finite floating-point parameters."""
    refusal = "not a nerwin model (expected a .npz written by 'nerwin train')"
    not_model = f"{path}: {refusal}"
    arrays = read_npz(path, refusal)
    if "header" not in arrays or arrays["header"].dtype != np.uint8:
        raise DataError(not_model)
    try:
        header = json.loads(arrays["header"].tobytes().decode("utf-8"))
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError("no nerwin header")
    except (ValueError, RecursionError):
        raise DataError(not_model) from None
    if header.get("version") != VERSION:
        raise DataError(f"{path}: model format version {header.get('version')!r}, "
                        f"this nerwin reads version {VERSION}")
    for key, kind in _HEADER.items():
        if not isinstance(header.get(key), kind):
            raise DataError(f"{path}: the model header has no valid {key!r} (damaged file?)")
    shapes_ok = all(isinstance(v, list) and all(isinstance(n, int) for n in v) for v in header["shapes"].values())
    types_ok = all(isinstance(t, str) for t in header["types"])
    if not (shapes_ok and types_ok and header["scheme"] in ("iob2", "iobes")):
        raise DataError(f"{path}: the model header holds values of the wrong kind (damaged file?)")
    if len(set(header["types"])) != len(header["types"]):
        twice = next(t for i, t in enumerate(header["types"]) if t in header["types"][:i])
        raise DataError(f"{path}: the model header lists entity type {shorten(twice)} twice (damaged file?)")
    if "vocab" not in arrays or arrays["vocab"].dtype != np.uint8:
        raise DataError(f"{path}: the model file has no 'vocab' array (damaged file?)")
    words = _read_words(arrays, "vocab", "vocabulary", path)
    suffixes = _read_words(arrays, "suffixes", "suffix table", path)
    params = {k.removeprefix("param/"): np.ascontiguousarray(v)   # whatever order was saved
              for k, v in arrays.items() if k.startswith("param/")}
    for k, v in params.items():
        if not np.issubdtype(v.dtype, np.floating):
            raise DataError(f"{path}: parameter {k} holds {v.dtype}, expected floating-point numbers")
        if not np.isfinite(v).all():
            raise DataError(f"{path}: parameter {k} holds NaN or infinite numbers (damaged file?)")
    return header, params, words, suffixes


def _check_network(network: WindowNetwork, config: dict, n_labels: int, path) -> None:
    """The parameters must fit together: score one window of padding into one score per tag."""
    rows = n_casings(config["embeddings"]["uncased"])
    if "C" in network.params and len(network.params["C"]) != rows:
        raise DataError(f"{path}: the casing table has {len(network.params['C'])} rows, expected {rows}")
    window = config["model"]["window"]
    try:
        ids = np.zeros((1, window), np.int64)
        S = network.scores(ids, ids, suffix_ids=ids)
    except (ValueError, IndexError, KeyError):
        S = None
    if S is None or S.shape != (1, n_labels):
        raise DataError(f"{path}: the parameters do not fit together (expected a network for "
                        f"{window}-word windows and {n_labels} tags; damaged file?)")


@contextmanager
def model_file(path):
    """The model file to read, as a real path while the block runs: a shipped model when
    ``path`` is one of :data:`SHIPPED_NAMES` given as a string (``"en"``; write ``"./en"``
    for a folder of that name), else :func:`resolve_model_path`."""
    if isinstance(path, str) and path in SHIPPED_NAMES:
        shipped = SHIPPED_MODELS / f"{path}.npz"
        if not shipped.is_file():
            raise DataError(f"{path}: the shipped model is missing from this installation "
                            f"({shipped}); reinstall nerwin, or build it with 'make model'")
        with resources.as_file(shipped) as real:  # a temporary copy only if installed zipped
            yield real
    else:
        yield resolve_model_path(path)


def resolve_model_path(path) -> Path:
    """A model file, or ``model.npz`` inside a run folder."""
    path = Path(path)
    if path.is_dir():
        if not (path / MODEL_FILE).is_file():
            raise DataError(f"{path}: run folder has no {MODEL_FILE} (did training finish an epoch?)")
        return path / MODEL_FILE
    if not path.exists():
        raise DataError(f"{path}: no such model file or run folder "
                        f"(shipped models: {', '.join(SHIPPED_NAMES)})")
    return path
