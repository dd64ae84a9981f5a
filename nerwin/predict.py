"""Tagging raw text: segments of sentences through the network in batches, the entities
found with their character offsets, and the Python API behind :func:`nerwin.load`.

The sentences of consecutive segments (:mod:`nerwin.segment`), across documents, go through the
network together, ``batch_size`` sentences per call. Offsets are character offsets (code
points) into the whole document: ``document[e.start:e.end] == e.text``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from nerwin import tags as T
from nerwin.consistency import DocumentConsistency
from nerwin.data import Corpus
from nerwin.segment import SURROGATES, Segment, Sentence, segments, text_chunks
from nerwin.tagger import Tagger, load_shared, model_key

BATCH_SENTENCES = 2000        # sentences per network call
BATCH_TOKENS = 100_000        # tag as soon as this many tokens wait, whatever the sentence count,
BATCH_CHARS = 1 << 20         # or this many characters of text


@dataclass(frozen=True, slots=True)
class Entity:
    """An entity found in a document: ``document[start:end] == text``.

    ``score`` is the mean, over the entity's tokens, of the softmax probability of the tag
    the network predicted for the token.
    """

    start: int
    end: int
    label: str
    text: str
    score: float

    @property
    def type(self) -> str:
        """The entity type: the same as ``label``."""
        return self.label


# ---------------------------------------------------------------- tagging


def tag_documents(tagger: Tagger, documents: Iterable[Iterable[str]], scheme: str = "iob2",
                  batch_size: int = BATCH_SENTENCES) -> Iterator[Segment]:
    """The tagged segments of each document in turn; a document is given as consecutive pieces
    of its text (:func:`text_chunks`, :func:`file_chunks`). Lazy: a document is read only when
    the batch being filled needs it."""
    def all_segments():
        for doc, chunks in enumerate(documents):
            yield from segments(chunks, doc)
    return tag_segments(tagger, all_segments(), scheme, batch_size)


def tag_segments(tagger: Tagger, segs: Iterable[Segment], scheme: str = "iob2",
                 batch_size: int = BATCH_SENTENCES) -> Iterator[Segment]:
    """Tag segments ``batch_size`` sentences per network call, the sentences of consecutive
    segments together; yields each segment, tagged, in order, as soon as all its sentences are.
    Sentences are tagged in order, so the consistency rule (:meth:`Tagger.consistency`) carries
    what it knows of a document from one segment to the next.

    Sentences wait until there are ``batch_size`` of them, or :data:`BATCH_TOKENS` tokens, or
    :data:`BATCH_CHARS` characters of text in the waiting segments (then all are tagged)."""
    consistent = tagger.consistency()
    pending: deque[Segment] = deque()
    waiting: list[Sentence] = []
    docs: list[int] = []          # the document of each waiting sentence
    n_tokens = n_chars = 0
    for seg in segs:
        pending.append(seg)
        waiting += seg.sentences
        docs += [seg.doc] * len(seg.sentences)
        n_tokens += sum(len(s.tokens) for s in seg.sentences)
        n_chars += len(seg.text)
        if len(waiting) < batch_size and n_tokens < BATCH_TOKENS and n_chars < BATCH_CHARS:
            continue
        n = len(waiting) if n_tokens >= BATCH_TOKENS or n_chars >= BATCH_CHARS else \
            len(waiting) - len(waiting) % batch_size
        for i in range(0, n, batch_size):
            tag_sentences(tagger, waiting[i:i + batch_size], scheme, docs[i:i + batch_size], consistent)
        waiting, docs = waiting[n:], docs[n:]
        first_waiting = waiting[0] if waiting else None
        while pending and not any(s is first_waiting for s in pending[0].sentences):
            yield pending.popleft()
        n_tokens = sum(len(s.tokens) for s in waiting)
        n_chars = sum(len(seg.text) for seg in pending)
    for i in range(0, len(waiting), batch_size):
        tag_sentences(tagger, waiting[i:i + batch_size], scheme, docs[i:i + batch_size], consistent)
    yield from pending


def tag_sentences(tagger: Tagger, sentences: list[Sentence], scheme: str = "iob2",
                  docs: list[int] | None = None, consistent: DocumentConsistency | None = None) -> None:
    """Fill in the tags and entities of ``sentences``: one network call for all of them.

    ``docs`` gives the document of each sentence (default: all in one), ``consistent`` the
    consistency pass that earlier sentences of those documents went through (default: a
    fresh one, :meth:`Tagger.consistency`)."""
    words = network_words(sentences)
    lengths = np.array([len(s.tokens) for s in sentences], np.int64)
    label_sentences(tagger, sentences, words, *score_words(tagger, words, lengths), scheme, docs, consistent)


def score_words(tagger: Tagger, words: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The network's part of tagging sentences (their :func:`network_words`, ``lengths`` (m,)):
    each token's decoded class (n,) and the softmax probability of that class (n,)."""
    if not len(words):
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    S = tagger.scores(tagger.featurize(words, lengths))
    classes = tagger.decode(S, lengths)
    return classes, _probability_of(S, classes)


def label_sentences(tagger: Tagger, sentences: list[Sentence], words: np.ndarray, classes: np.ndarray,
                    probability: np.ndarray, scheme: str = "iob2", docs: list[int] | None = None,
                    consistent: DocumentConsistency | None = None) -> None:
    """The rest of :func:`tag_sentences`, from the sentences' :func:`network_words` and the
    network's classes and probabilities (:func:`score_words`): entity spans, the consistency
    rule, tags and entities."""
    if not len(classes):
        return
    lengths = np.array([len(s.tokens) for s in sentences], np.int64)
    confidence = np.concatenate([[0.0], np.cumsum(probability, dtype=np.float64)])
    corpus = Corpus(words, lengths)
    offsets, first = corpus.offsets, corpus.first
    spans = tagger.labels.decode(classes, first)
    owner = np.searchsorted(offsets, spans.start, side="right") - 1
    sentence_docs = np.zeros(len(sentences), np.int64) if docs is None else np.asarray(docs, np.int64)
    spans = (consistent or tagger.consistency())(spans, words, sentence_docs[owner])
    tags = T.to_strings(*T.encode(spans, len(words), scheme, first), tagger.labels.types).tolist()
    bounds = offsets.tolist()
    for k, s in enumerate(sentences):
        s.tags = tags[bounds[k]:bounds[k + 1]]
        s.entities = []
    types = tagger.labels.types
    scores = ((confidence[spans.end] - confidence[spans.start]) / (spans.end - spans.start)).tolist()
    for a, b, label, k, score in zip(spans.start.tolist(), spans.end.tolist(), spans.label.tolist(),
                                     owner.tolist(), scores):   # Python numbers: no NumPy scalars per entity
        s = sentences[k]
        start, end = s.tokens[a - bounds[k]].start, s.tokens[b - 1 - bounds[k]].end
        s.entities.append(Entity(start, end, types[label], s.text[start - s.start:end - s.start], score))


def _probability_of(S: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``softmax(S)[n, classes[n]]`` for each row n, the same numbers without dividing every entry:
    e^(s_c - max s) / Σ_j e^(s_j - max s)."""
    e = np.exp(S - S.max(axis=1, keepdims=True))
    return e[np.arange(len(e)), classes] / e.sum(axis=1)


def network_words(sentences: list[Sentence]) -> np.ndarray:
    """The words of sentences, in order (n,), for the network: a lone surrogate (a byte that was
    not UTF-8) is looked up as U+FFFD, which pandas can hash."""
    return np.array([w for s in sentences for w in _words(s)], dtype=object)


def _words(sentence: Sentence) -> list[str]:
    if SURROGATES.search(sentence.text):
        return [SURROGATES.sub("\ufffd", t.text) for t in sentence.tokens]
    return [t.text for t in sentence.tokens]


# ---------------------------------------------------------------- the Python API


class Predictor:
    """Named entities in raw text, from a trained model: ``nerwin.load()`` returns one.

    ``predictor(text)`` is the list of the text's :class:`Entity`, offsets into ``text``;
    ``predictor.pipe(texts)`` yields one such list per text, lazily, tagging the sentences of
    many texts together.
    """

    def __init__(self, tagger: Tagger, scheme: str = "iob2", path: str | None = None):
        self.tagger = tagger
        self.scheme = scheme
        self.path = path          # the shipped model's name or model file it was loaded from, if any

    @classmethod
    def load(cls, path) -> "Predictor":
        """A shipped model by name (``"en"``), a model file, or the model of a run folder."""
        key = model_key(path)
        return cls(Tagger.load(key), path=key)

    def __reduce__(self):
        """Pickled (sent to another process) as its model's name or path, loaded there once per
        process (:func:`~nerwin.tagger.load_shared`), or else as its model's bytes: never with
        the pretrained vectors it has opened, which the copy reopens when it needs them."""
        if self.path is not None:
            return _shared_predictor, (self.path, self.scheme)
        return Predictor, (self.tagger, self.scheme)

    @property
    def labels(self) -> list[str]:
        """The entity types the model knows."""
        return list(self.tagger.labels.types)

    def __call__(self, text: str) -> list[Entity]:
        return next(self.pipe([text]))

    def pipe(self, texts: Iterable[str], batch_size: int = BATCH_SENTENCES) -> Iterator[list[Entity]]:
        """One list of entities per text, in order; ``batch_size`` sentences per network call,
        taken from as many texts as it needs. ``texts`` is read as results are asked for."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        documents = (text_chunks(_text(t)) for t in texts)
        found: list[Entity] = []
        for seg in tag_documents(self.tagger, documents, self.scheme, batch_size):
            found += seg.entities()
            if seg.last:
                yield found
                found = []

    def __repr__(self) -> str:
        return f"<nerwin.Predictor {', '.join(self.labels)}>"


def _shared_predictor(path: str, scheme: str) -> Predictor:
    return Predictor(load_shared(path), scheme, path)


def _text(text) -> str:
    if not isinstance(text, str):
        raise TypeError(f"expected str texts, got {type(text).__name__}")
    return text
