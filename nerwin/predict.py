"""Raw text to entities with character offsets, and the output formats of ``nerwin predict``."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from nerwin import tags as T
from nerwin.tagger import Tagger
from nerwin.tokenize import Token, split_sentences


@dataclass
class Sentence:
    """One tagged sentence of a document: its tokens, tags and entities (offsets into the document)."""

    tokens: list[Token]
    tags: list[str]
    entities: list[dict]


def predict_texts(tagger: Tagger, texts, scheme: str = "iob2") -> list[list[Sentence]]:
    """Tag each text; one list of :class:`Sentence` per text. All sentences of all texts go
    through the network as one batch of windows."""
    docs = [split_sentences(text) for text in texts]
    sentences = [s for doc in docs for s in doc]
    lengths = np.array([len(s) for s in sentences], dtype=np.int64)
    words = np.array([t.text for s in sentences for t in s], dtype=object)
    if not len(words):
        return [[] for _ in texts]
    spans = tagger.predict_spans(words, lengths)
    first = np.zeros(len(words), bool)
    first[np.concatenate([[0], np.cumsum(lengths)[:-1]])] = True
    tag_strings = T.to_strings(*T.encode(spans, len(words), scheme, first), tagger.labels.types)

    # map each entity to its sentence and document
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    sentence_of = np.searchsorted(offsets, spans.start, side="right") - 1
    entities = [[] for _ in sentences]
    flat_tokens = [t for s in sentences for t in s]
    doc_of = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
    for s, e, label, k in zip(spans.start, spans.end, spans.label, sentence_of):
        start, end = flat_tokens[s].start, flat_tokens[e - 1].end
        text = texts[doc_of[k]]
        entities[k].append({"type": tagger.labels.types[label], "text": text[start:end], "start": start, "end": end})

    out, k = [], 0
    for doc in docs:
        tagged = []
        for s in doc:
            tagged.append(Sentence(s, list(tag_strings[offsets[k]:offsets[k + 1]]), entities[k]))
            k += 1
        out.append(tagged)
    return out


def format_text(text: str, sentences: list[Sentence]) -> str:
    """The text with each entity marked inline: ``[Paris]LOC``."""
    pieces, at = [], 0
    for ent in (e for s in sentences for e in s.entities):
        pieces += [text[at:ent["start"]], "[", ent["text"], "]", ent["type"]]
        at = ent["end"]
    pieces.append(text[at:])
    return "".join(pieces)


def format_jsonl(sentences: list[Sentence]) -> str:
    """One JSON object per sentence: tokens, tags and entities with character offsets."""
    return "\n".join(
        json.dumps({"tokens": [t.text for t in s.tokens], "tags": s.tags, "entities": s.entities}, ensure_ascii=False)
        for s in sentences
    )


def format_conll(sentences: list[Sentence]) -> str:
    """``word tag`` lines, a blank line after each sentence."""
    return "".join("".join(f"{t.text} {tag}\n" for t, tag in zip(s.tokens, s.tags)) + "\n" for s in sentences)
