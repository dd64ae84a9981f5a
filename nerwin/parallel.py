"""Tagging many files at once: the per-file function every engine calls, and a process pool of
the standard library behind ``nerwin predict --jobs N``.

The unit of work is a file. A worker process runs with one BLAS thread, loads the model once by
path (never a pickled model: :func:`load_model` caches it per process) and tags whole files. A
file's output carries the document index and source it has in the whole run, so the outputs,
put together in input order, are byte for byte what one process writes.

With an output folder, each input gets one output file, written atomically (a temporary file
renamed into place when complete), so **an output file that exists is complete**: a rerun skips
it, and a killed job resumes where it stopped. Leftover temporary files of killed workers are
removed when a run starts and when it ends.
"""

from __future__ import annotations

import io
import os
import time
from collections import deque
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from nerwin.errors import DataError
from nerwin.files import atomic_file
from nerwin.predict import tag_segments
from nerwin.segment import file_chunks, segments, text_chunks
from nerwin.writers import WRITERS, Output
from nerwin import tagger as _tagger
from nerwin.tagger import Tagger, load_shared, resolve_model_path

SUFFIXES = {"text": ".txt", "jsonl": ".jsonl", "conll": ".conll", "html": ".html"}
# one BLAS thread per worker process: N processes on N cores, not N × N threads fighting
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def model_path(model=None) -> str:
    """The absolute path of a model file or run folder's model (default: the shipped model):
    what a worker is given to load it."""
    if model is None:
        model = _tagger.SHIPPED_MODEL
        if not model.is_file():
            raise DataError(f"no --model given and no shipped model at {model} (build it with 'make model')")
    return str(resolve_model_path(model).resolve())


def load_model(model=None) -> Tagger:
    """The tagger of a model (default: the shipped one), loaded once per process."""
    return load_shared(model_path(model))


def output_paths(inputs: list[Path], out_dir: Path, fmt: str) -> list[Path]:
    """One output per input in ``out_dir``: the input's path relative to the folder that holds
    all the inputs, with the format's suffix added (``a/b.txt`` -> ``DIR/a/b.txt.jsonl``)."""
    parents = [os.path.abspath(p.parent) for p in inputs]
    root = os.path.commonpath(parents) if parents else ""
    return [Path(out_dir) / (os.path.relpath(os.path.abspath(p), root) + SUFFIXES[fmt]) for p in inputs]


def remove_leftovers(outputs: Iterable[Path]) -> None:
    """Remove the temporary files a killed writer of these outputs left beside them."""
    for out in outputs:
        if out.parent.is_dir():
            for tmp in out.parent.glob(f".{_glob_escape(out.name)}.*.tmp"):
                tmp.unlink(missing_ok=True)


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


# ---------------------------------------------------------------- one file


def tag_file(in_path, out_path, model=None, fmt: str = "jsonl", scheme: str = "iob2",
             batch_size: int = 2000, doc: int = 0, source: str | None = None) -> dict:
    """Tag one file into ``out_path``, written atomically; skipped if ``out_path`` exists.

    ``doc`` and ``source`` are the file's index and name in the whole run (default 0 and
    ``in_path``). Returns a summary: source, output, tokens, entities, seconds, skipped."""
    start = time.perf_counter()
    out_path, source = Path(out_path), str(in_path) if source is None else source
    summary = {"source": source, "output": str(out_path), "tokens": 0, "entities": 0, "skipped": True}
    if not out_path.exists():
        tagger = load_model(model)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(out_path) as f:
            writer = WRITERS[fmt](Output(f, str(out_path)), tagger.labels.types, {doc: source})
            writer.write(_counted(tag_segments(tagger, segments(file_chunks(Path(in_path)), doc), scheme, batch_size),
                                  summary))
        summary["skipped"] = False
    return {**summary, "seconds": time.perf_counter() - start}


def tag_part(document: tuple[str, str], model=None, fmt: str = "jsonl", scheme: str = "iob2",
             batch_size: int = 2000, doc: int = 0, source: str | None = None) -> tuple[str, dict]:
    """The output of one document of a run, without the format's head and tail (the HTML page
    around the documents): what the run writes for it in its place. ``document`` is
    ``("file", path)`` or ``("text", text)``. Returns the text and a summary."""
    start = time.perf_counter()
    tagger = load_model(model)
    kind, value = document
    chunks = file_chunks(Path(value)) if kind == "file" else text_chunks(value)
    buffer = io.BytesIO()
    writer = WRITERS[fmt](Output(buffer, "memory"), tagger.labels.types, {doc: source})
    summary = {"source": source, "tokens": 0, "entities": 0}
    writer.begin()
    head = buffer.tell()
    for seg in _counted(tag_segments(tagger, segments(chunks, doc), scheme, batch_size), summary):
        writer.segment(seg)
    return buffer.getvalue()[head:].decode("utf-8"), {**summary, "seconds": time.perf_counter() - start}


def _counted(segs, summary: dict):
    """The segments, counting their tokens and entities into ``summary``."""
    for seg in segs:
        for s in seg.sentences:
            summary["tokens"] += len(s.tokens)
            summary["entities"] += len(s.entities)
        yield seg


# ---------------------------------------------------------------- the pool


def default_jobs() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def process_pool(jobs: int, model=None):
    """A ``concurrent.futures`` pool of ``jobs`` worker processes, started fresh ('spawn') with
    one BLAS thread each, each loading the model once as it starts. A worker that dies breaks
    the pool (``BrokenProcessPool``) rather than losing its task silently."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    saved = {k: os.environ.get(k) for k in ONE_THREAD}
    os.environ.update(ONE_THREAD)   # read by a child's BLAS when it starts, before numpy loads
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


def _in_order(pool, fn, tasks: Iterable[tuple], window: int) -> Iterator:
    """``fn(*task)`` for each task on the pool, results in task order, at most ``window`` tasks
    submitted ahead of the one being waited for (so memory stays bounded)."""
    pending: deque = deque()
    for task in tasks:
        pending.append(pool.submit(fn, *task))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def tag_to_stream(documents: list[tuple[str, str]], sources: list[str | None], out: Output, model, jobs: int,
                  fmt: str = "text", scheme: str = "iob2", batch_size: int = 2000,
                  progress: Callable[[int], object] | None = None) -> dict:
    """Tag documents (``("file", path)`` or ``("text", text)``) on ``jobs`` processes into one
    output, in order: the same bytes one process writes. Returns a summary of the run."""
    model = model_path(model)
    types = load_model(model).labels.types   # a bad model fails here, before any worker starts
    totals = {"files": len(documents), "tokens": 0, "entities": 0}
    start = time.perf_counter()
    with process_pool(jobs, model) as pool:
        writer = WRITERS[fmt](out, types, sources)
        writer.begin()
        tasks = ((d, model, fmt, scheme, batch_size, k, sources[k]) for k, d in enumerate(documents))
        for (kind, value), (text, summary) in zip(documents, _in_order(pool, tag_part, tasks, 2 * jobs)):
            out.write(text)
            totals["tokens"] += summary["tokens"]
            totals["entities"] += summary["entities"]
            if progress and kind == "file":
                progress(os.path.getsize(value))
        writer.end()
    return {**totals, "seconds": time.perf_counter() - start}


def tag_to_folder(inputs: list[Path], out_dir: Path, model, jobs: int, fmt: str = "jsonl", scheme: str = "iob2",
                  batch_size: int = 2000, progress: Callable[[int], object] | None = None) -> dict:
    """Tag each input file into its own output file in ``out_dir`` (:func:`output_paths`) on
    ``jobs`` processes (1: in this process); inputs whose output exists are skipped. Returns a
    summary of the run (files, skipped, tokens, entities, seconds) and each file's."""
    model = model_path(model)
    load_model(model)   # a bad model fails here, before any worker starts
    outputs = output_paths(inputs, out_dir, fmt)
    remove_leftovers(outputs)
    start = time.perf_counter()
    tasks = [(p, o, model, fmt, scheme, batch_size, k, str(p)) for k, (p, o) in enumerate(zip(inputs, outputs))]
    todo = [t for t in tasks if not t[1].exists()]
    done = {}
    with (process_pool(min(jobs, len(todo)), model) if jobs > 1 and todo else _no_pool()) as pool:
        results = _in_order(pool, tag_file, todo, 2 * jobs) if pool else (tag_file(*t) for t in todo)
        for task, summary in zip(todo, results):
            done[task[6]] = summary
            if progress:
                progress(os.path.getsize(task[0]))
    remove_leftovers(outputs)
    parts = [done.get(t[6]) or tag_file(*t) for t in tasks]   # skipped: their summary only
    return summarize(parts, time.perf_counter() - start)


@contextmanager
def _no_pool():
    yield None


def summarize(parts: list[dict], seconds: float) -> dict:
    """The run's totals over its files' summaries."""
    done = [p for p in parts if not p["skipped"]]
    return {"files": len(parts), "skipped": len(parts) - len(done), "tokens": sum(p["tokens"] for p in done),
            "entities": sum(p["entities"] for p in done), "seconds": seconds, "parts": parts}
