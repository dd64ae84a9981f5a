"""Tagging many files at once: the per-file function every engine calls, and a process pool of
the standard library behind ``nerwin predict --jobs N``.

The unit of work is a file. A worker process runs with one BLAS thread, loads the model once by
path (never a pickled model: :func:`load_model` caches it per process) and tags whole files. A
file's output carries the document index and source it has in the whole run, so the outputs,
put together in input order, are byte for byte what one process writes.

A large file (or standard input) written to one output is cut into pieces at paragraph breaks
(:func:`~nerwin.segment.pieces`), which no sentence crosses. The document-level consistency
rule carries what it knows from one piece to the next, so a worker only scores a piece (the
network's classes, :func:`score_piece`) and this process labels the pieces in order, with one
pass of the rule, and writes them.

With an output folder, each input gets one output file, written atomically (a temporary file
renamed into place when complete), so **an output file that exists is complete**: a rerun skips
it, and a killed job resumes where it stopped. Temporary files of killed writers (their process
gone) are removed when a run starts and when it ends.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections import deque
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from nerwin.errors import NerwinError
from nerwin.files import atomic_files, remove_stale_temporaries
from nerwin.data import Corpus
from nerwin.predict import label_sentences, network_words, score_words, tag_segments
from nerwin.segment import Segment, Sentence, file_chunks, pieces, read_chunks, segments, text_chunks
from nerwin.tagger import DEFAULT_MODEL, Tagger, load_shared, model_key
from nerwin.tokenize import Token
from nerwin.writers import WRITERS, Output

SUFFIXES = {"text": ".txt", "jsonl": ".jsonl", "conll": ".conll", "html": ".html"}
# one BLAS thread per worker process: N processes on N cores, not N × N threads fighting
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# glibc's malloc keeps blocks up to 256 MB in the heap and keeps the heap: otherwise each of the
# network's large temporaries is a fresh mmap, paid in page faults (on 471k tokens in 2,878
# files, --jobs 2: 560k faults and 1.7 s of system time, against 45k and 0.3 s)
KEEP_MEMORY = {"MALLOC_MMAP_THRESHOLD_": str(1 << 28), "MALLOC_TRIM_THRESHOLD_": str(1 << 28)}
WORKER_ENV = {**ONE_THREAD, **KEEP_MEMORY}


def model_path(model=None) -> str:
    """What a worker is given to load a model: a shipped model's name (default ``en``) as it
    is, else the absolute path of the model file (of a run folder's model)."""
    return model_key(DEFAULT_MODEL if model is None else model)


def load_model(model=None) -> Tagger:
    """The tagger of a model (default: the shipped one), loaded once per process."""
    return load_shared(model_path(model))


def output_paths(inputs: list[Path], out_dir: Path, fmt: str) -> list[Path]:
    """One output per input in ``out_dir``: the input's path relative to the folder that holds
    all the inputs, with the format's suffix added (``a/b.txt`` -> ``DIR/a/b.txt.jsonl``)."""
    parents = [os.path.abspath(p.parent) for p in inputs]
    root = os.path.commonpath(parents) if parents else ""
    return [Path(out_dir) / (os.path.relpath(os.path.abspath(p), root) + SUFFIXES[fmt]) for p in inputs]


# ---------------------------------------------------------------- files


def tag_file(in_path, out_path, model=None, fmt: str = "jsonl", scheme: str = "iob2",
             batch_size: int = 2000, doc: int = 0, source: str | None = None) -> dict:
    """Tag one file into ``out_path``, written atomically; skipped if ``out_path`` exists.

    ``doc`` and ``source`` are the file's index and name in the whole run (default 0 and
    ``in_path``). Returns a summary: source, output, tokens, entities, seconds, skipped."""
    return tag_many([(in_path, out_path, doc, source)], model, fmt, scheme, batch_size)[0]


def tag_many(files: list[tuple], model=None, fmt: str = "jsonl", scheme: str = "iob2",
              batch_size: int = 2000) -> list[dict]:
    """:func:`tag_file` for each ``(in_path, out_path, doc, source)``, the sentences of
    consecutive files going through the network together (small files cost a network call
    each otherwise). Returns each file's summary."""
    summaries = [{"source": str(i) if s is None else s, "output": str(o), "tokens": 0, "entities": 0,
                  "skipped": Path(o).exists(), "seconds": 0.0} for i, o, _, s in files]
    todo = [(f, summary) for f, summary in zip(files, summaries) if not summary["skipped"]]
    if todo:
        tagger = load_model(model)
        docs = (seg for (i, _, doc, _), _ in todo for seg in segments(file_chunks(Path(i)), doc))
        tagged = tag_segments(tagger, docs, scheme, batch_size)
        with atomic_files() as stage:   # the outputs take their places together, once all are written
            for (_, out_path, doc, _), summary in todo:
                start = time.perf_counter()
                Path(out_path).parent.mkdir(parents=True, exist_ok=True)
                with stage(out_path) as f:
                    writer = WRITERS[fmt](Output(f, str(out_path)), tagger.labels.types, {doc: summary["source"]})
                    writer.write(_document(tagged, summary))
                summary["seconds"] = time.perf_counter() - start
    return summaries


def tag_text(files: list[tuple], model=None, fmt: str = "jsonl", scheme: str = "iob2",
             batch_size: int = 2000) -> tuple[str, dict]:
    """What a run writes for ``(in_path, doc, source)`` files in its place: their output
    without the format's head and tail (the HTML page around the documents), and a summary."""
    tagger = load_model(model)
    docs = (seg for i, doc, _ in files for seg in segments(file_chunks(Path(i)), doc))
    return _render(tagger, fmt, {doc: s for _, doc, s in files}, tag_segments(tagger, docs, scheme, batch_size))


def _render(tagger: Tagger, fmt: str, sources: dict, segs: Iterable) -> tuple[str, dict]:
    """Tagged segments as a run writes them in its place (without the format's head and
    tail), and their tokens and entities counted."""
    buffer = io.BytesIO()
    writer = WRITERS[fmt](Output(buffer, "memory"), tagger.labels.types, sources)
    writer.begin()
    head = buffer.tell()
    summary = {"tokens": 0, "entities": 0}
    for seg in _counted(segs, summary):
        writer.segment(seg)
    return buffer.getvalue()[head:].decode("utf-8"), summary


def _document(segs: Iterator, summary: dict) -> Iterator:
    """The next document's segments from ``segs``, counted into ``summary``."""
    for seg in _counted(segs, summary):
        yield seg
        if seg.last:
            return


def _counted(segs, summary: dict):
    """The segments, counting their tokens and entities into ``summary``."""
    for seg in segs:
        for s in seg.sentences:
            summary["tokens"] += len(s.tokens)
            summary["entities"] += len(s.entities)
        yield seg


def groups(sizes: list[int], target: int) -> list[range]:
    """Consecutive items in groups of about ``target`` bytes (at least one item each)."""
    out, start, total = [], 0, 0
    for k, size in enumerate(sizes):
        total += size
        if total >= target:
            out.append(range(start, k + 1))
            start, total = k + 1, 0
    if start < len(sizes):
        out.append(range(start, len(sizes)))
    return out


def group_bytes(total: int, workers: int) -> int:
    """Bytes of text per task: enough that the network sees big batches, small enough that
    every worker gets a few tasks (between 64 kB and 1 MB)."""
    return max(1 << 16, min(1 << 20, total // (4 * workers)))


# ---------------------------------------------------------------- the pool


def default_jobs() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def process_pool(jobs: int, model=None):
    """A ``concurrent.futures`` pool of ``jobs`` worker processes, started fresh ('spawn') with
    one BLAS thread each and :data:`KEEP_MEMORY`, each loading the model once as it starts. A
    worker that dies breaks the pool (``BrokenProcessPool``) rather than losing its task silently."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    saved = {k: os.environ.get(k) for k in WORKER_ENV}
    os.environ.update(WORKER_ENV)   # read by a child's malloc and BLAS when it starts
    try:
        with ProcessPoolExecutor(jobs, multiprocessing.get_context("spawn"), initializer=load_model,
                                 initargs=(model,)) as pool:
            yield pool
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _in_order(pool, tasks: Iterable[tuple], window: int) -> Iterator:
    """Run each ``(fn, *args)`` of ``(task, info)`` on the pool; yields ``(task, info, result)``
    in task order, at most ``window`` tasks submitted ahead of the one being waited for (so
    memory stays bounded)."""
    from concurrent.futures.process import BrokenProcessPool

    pending: deque = deque()
    try:
        for task, info in tasks:
            pending.append((task, info, pool.submit(*task)))
            if len(pending) >= window:
                task, info, future = pending.popleft()
                yield task, info, future.result()
        while pending:
            task, info, future = pending.popleft()
            yield task, info, future.result()
    except BrokenProcessPool:
        raise NerwinError("a worker process died (out of memory? killed?); nothing half-written is left: "
                          "with --output-dir, run again to tag what is missing") from None


def score_piece(text: str, model, batch_size: int) -> tuple[dict, list, np.ndarray]:
    """The network's part of tagging a piece of a document (:func:`~nerwin.segment.pieces`):
    arrays of its sentences (start, end, tokens), their tokens (start, end), each token's class
    and probability, offsets into ``text`` (arrays pickle in a fraction of the time sentence
    objects take); and its entities' lower-cased words and labels before the consistency rule,
    from which this process learns what the rule knows after the piece."""
    tagger = load_model(model)
    sentences = [s for seg in segments(text_chunks(text)) for s in seg.sentences]
    corpus = Corpus(network_words(sentences), np.array([len(s.tokens) for s in sentences], np.int64))
    cuts = range(batch_size, len(sentences), batch_size)   # the first sentence of each network call but the first
    scored = [score_words(tagger, w, n) for w, n in zip(np.split(corpus.words, corpus.offsets[cuts]),
                                                         np.split(corpus.lengths, cuts))]
    classes = np.concatenate([c for c, _ in scored])
    spans = tagger.labels.decode(classes, corpus.first)
    names = [tuple(w.lower() for w in corpus.words[a:b]) for a, b in zip(spans.start.tolist(), spans.end.tolist())]
    arrays = {"sentences": np.array([(s.start, s.start + len(s.text), len(s.tokens)) for s in sentences],
                                    np.int64).reshape(-1, 3),
              "tokens": np.array([(t.start, t.end) for s in sentences for t in s.tokens], np.int64).reshape(-1, 2),
              "classes": classes,
              "probability": np.concatenate([p for _, p in scored])}
    return arrays, names, spans.label


def tag_piece(doc: int, start: int, text: str, last: bool, arrays: dict, known: frozenset, model,
              fmt: str, scheme: str, source: str) -> tuple[str, dict]:
    """What a run writes for a piece of document ``doc`` at offset ``start`` (as
    :func:`tag_text`), from its :func:`score_piece` arrays; ``known``: what the consistency
    rule knows from the document's pieces before."""
    tagger = load_model(model)
    sentences, k = [], 0
    starts, ends = arrays["tokens"].T       # offsets into text; into the document: + start
    texts = [text[a:b] for a, b in zip(starts.tolist(), ends.tolist())]
    tokens = list(map(Token._make, zip(texts, (starts + start).tolist(), (ends + start).tolist())))
    for a, b, n in arrays["sentences"].tolist():
        sentences.append(Sentence(start + a, text[a:b], tokens[k:k + n]))
        k += n
    label_sentences(tagger, sentences, network_words(sentences), arrays["classes"], arrays["probability"], scheme,
                    [doc] * len(sentences), tagger.consistency().resume(doc, known))
    return _render(tagger, fmt, {doc: source}, [Segment(doc, start, text, sentences, last)])


def tag_to_stream(paths: list[Path], out: Output, model, jobs: int, fmt: str = "text", scheme: str = "iob2",
                  batch_size: int = 2000, progress: Callable[[int], object] | None = None) -> dict:
    """Tag files (``-``: standard input) on ``jobs`` processes into one output, in order: what
    one process writes for them. Returns a summary of the run (files, tokens, entities, seconds).

    Runs of small files are tasks (:func:`tag_text`); so are a large file's pieces, in two
    steps: :func:`score_piece`, then, once the pieces before it are scored and this process has
    followed the consistency rule's known names through them in order, :func:`tag_piece`."""
    model = model_path(model)
    tagger = load_model(model)   # a bad model fails here, before any worker starts
    sizes = [None if str(p) == "-" else os.path.getsize(p) for p in paths]
    totals = {"files": len(paths), "tokens": 0, "entities": 0}
    start = time.perf_counter()
    target = group_bytes(sum(s or 0 for s in sizes) or 1 << 30, jobs)
    if all(s is not None and s <= target for s in sizes):   # small files only: no more workers than tasks
        jobs = max(1, min(jobs, len(groups(sizes, target))))
    rule, known = tagger.consistency(), frozenset()
    finals: deque = deque()       # (bytes, result, or the future of a piece's tag_piece) of each task, in order

    def write(n_bytes, result):
        text, summary = result.result() if isinstance(result, Future) else result
        out.write(text)
        totals["tokens"] += summary["tokens"]
        totals["entities"] += summary["entities"]
        if progress:
            progress(n_bytes)

    with process_pool(jobs, model) as pool:
        writer = WRITERS[fmt](out, tagger.labels.types, [str(p) for p in paths])
        writer.begin()
        tasks = _stream_tasks(paths, sizes, target, model, fmt, scheme, batch_size)
        for _, (n_bytes, piece), result in _in_order(pool, tasks, 2 * jobs):
            if piece is not None:     # a piece scored: a worker labels it with what the rule knows before it
                arrays, names, labels = result
                result = pool.submit(tag_piece, *piece, arrays, known, model, fmt, scheme, str(paths[piece[0]]))
                known = frozenset() if piece[3] else rule.known_after(names, labels, known)
            finals.append((n_bytes, result))
            while finals and (len(finals) > 2 * jobs or not isinstance(finals[0][1], Future) or finals[0][1].done()):
                write(*finals.popleft())
        while finals:
            write(*finals.popleft())
        writer.end()
    return {**totals, "seconds": time.perf_counter() - start}


def _stream_tasks(paths: list[Path], sizes: list[int | None], target: int, model, fmt: str, scheme: str,
                  batch_size: int) -> Iterator[tuple]:
    """The tasks of :func:`tag_to_stream`, in input order, each with what the writing needs:
    ``(task, (bytes, piece))``. Consecutive files of about ``target`` bytes together are one
    task (:func:`tag_text`, piece None); a file larger than that, or standard input, gives a
    task per piece of about ``target`` characters (:func:`score_piece`; piece: document,
    offset, text, last). A file with no paragraph break in its first ``8 × target`` bytes
    (a sentence a line, say) stays one task, read as a stream by its worker."""
    group: list[tuple] = []
    n_bytes = 0
    for k, (path, size) in enumerate(zip(paths, sizes)):
        if size is not None and (size <= target or not _has_paragraphs(path, 8 * target)):
            group.append((str(path), k, str(path)))
            n_bytes += size
            if n_bytes >= target or size > target:
                yield (tag_text, group, model, fmt, scheme, batch_size), (n_bytes, None)
                group, n_bytes = [], 0
            continue
        if group:
            yield (tag_text, group, model, fmt, scheme, batch_size), (n_bytes, None)
            group, n_bytes = [], 0
        chunks = read_chunks(sys.stdin.buffer) if size is None else file_chunks(path)
        ahead = pieces(chunks, target)
        piece = next(ahead)
        for following in ahead:
            yield (score_piece, piece[1], model, batch_size), (_utf8_size(piece[1]), (k, *piece, False))
            piece = following
        yield (score_piece, piece[1], model, batch_size), (_utf8_size(piece[1]), (k, *piece, True))
    if group:
        yield (tag_text, group, model, fmt, scheme, batch_size), (n_bytes, None)


def _has_paragraphs(path: Path, n_bytes: int) -> bool:
    """Whether the first ``n_bytes`` of a file hold a blank line."""
    with open(path, "rb") as f:
        head = f.read(n_bytes)
    return b"\n\n" in head or b"\n\r\n" in head


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def tag_to_folder(inputs: list[Path], out_dir: Path, model, jobs: int, fmt: str = "jsonl", scheme: str = "iob2",
                  batch_size: int = 2000, progress: Callable[[int], object] | None = None) -> dict:
    """Tag each input file into its own output file in ``out_dir`` (:func:`output_paths`) on
    ``jobs`` processes (1: in this process); inputs whose output exists are skipped. Returns a
    summary of the run (files, skipped, tokens, entities, seconds) and each file's."""
    model = model_path(model)
    load_model(model)   # a bad model fails here, before any worker starts
    outputs = output_paths(inputs, out_dir, fmt)
    remove_stale_temporaries(outputs)
    start = time.perf_counter()
    files = [(str(p), o, k, str(p)) for k, (p, o) in enumerate(zip(inputs, outputs))]
    todo = [f for f in files if not f[1].exists()]
    sizes = [os.path.getsize(f[0]) for f in todo]
    parts = groups(sizes, group_bytes(sum(sizes), jobs))
    tasks = [([todo[k] for k in part], model, fmt, scheme, batch_size) for part in parts]
    done = {}
    with (process_pool(min(jobs, len(tasks)), model) if jobs > 1 and tasks else _no_pool()) as pool:
        results = ((r for *_, r in _in_order(pool, (((tag_many, *t), None) for t in tasks), 2 * jobs)) if pool
                   else (tag_many(*t) for t in tasks))
        for part, summaries in zip(parts, results):
            done.update((todo[k][2], s) for k, s in zip(part, summaries))
            if progress:
                progress(sum(sizes[k] for k in part))
    remove_stale_temporaries(outputs)
    parts = [done.get(f[2]) or tag_file(*f[:2], model, fmt, doc=f[2], source=f[3]) for f in files]   # skipped: a summary
    return summarize(parts, time.perf_counter() - start)


@contextmanager
def _no_pool():
    yield None


def summarize(parts: list[dict], seconds: float) -> dict:
    """The run's totals over its files' summaries."""
    done = [p for p in parts if not p["skipped"]]
    return {"files": len(parts), "skipped": len(parts) - len(done), "tokens": sum(p["tokens"] for p in done),
            "entities": sum(p["entities"] for p in done), "seconds": seconds, "parts": parts}
