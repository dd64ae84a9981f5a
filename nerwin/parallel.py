"""Tagging many files at once: the per-file function every engine calls, and a process pool of
the standard library behind ``nerwin predict --jobs N``.

The unit of work is a file. A worker process runs with one BLAS thread, loads the model once by
path (never a pickled model: :func:`load_model` caches it per process) and tags whole files. A
file's output carries the document index and source it has in the whole run, so the outputs,
put together in input order, are byte for byte what one process writes.

With an output folder, each input gets one output file, written atomically (a temporary file
renamed into place when complete), so **an output file that exists is complete**: a rerun skips
it, and a killed job resumes where it stopped. Temporary files of killed writers (their process
gone) are removed when a run starts and when it ends.
"""

from __future__ import annotations

import io
import os
import time
from collections import deque
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from nerwin.errors import NerwinError
from nerwin.files import atomic_files, remove_stale_temporaries
from nerwin.predict import tag_segments
from nerwin.segment import file_chunks, segments
from nerwin.tagger import DEFAULT_MODEL, Tagger, load_shared, model_key
from nerwin.writers import WRITERS, Output

SUFFIXES = {"text": ".txt", "jsonl": ".jsonl", "conll": ".conll", "html": ".html"}
# one BLAS thread per worker process: N processes on N cores, not N × N threads fighting
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


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
                    writer.begin()
                    for seg in _document(tagged, summary):
                        writer.segment(seg)
                    writer.end()
                summary["seconds"] = time.perf_counter() - start
    return summaries


def tag_text(files: list[tuple], model=None, fmt: str = "jsonl", scheme: str = "iob2",
             batch_size: int = 2000) -> tuple[str, dict]:
    """What a run writes for ``(in_path, doc, source)`` files in its place: their output
    without the format's head and tail (the HTML page around the documents), and a summary."""
    tagger = load_model(model)
    buffer = io.BytesIO()
    writer = WRITERS[fmt](Output(buffer, "memory"), tagger.labels.types, {doc: s for _, doc, s in files})
    writer.begin()
    head = buffer.tell()
    summary = {"tokens": 0, "entities": 0}
    docs = (seg for i, doc, _ in files for seg in segments(file_chunks(Path(i)), doc))
    for seg in _counted(tag_segments(tagger, docs, scheme, batch_size), summary):
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
    from concurrent.futures.process import BrokenProcessPool

    pending: deque = deque()
    try:
        for task in tasks:
            pending.append(pool.submit(fn, *task))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except BrokenProcessPool:
        raise NerwinError("a worker process died (out of memory? killed?); nothing half-written is left: "
                          "with --output-dir, run again to tag what is missing") from None


def tag_to_stream(paths: list[Path], out: Output, model, jobs: int, fmt: str = "text", scheme: str = "iob2",
                  batch_size: int = 2000, progress: Callable[[int], object] | None = None) -> dict:
    """Tag files on ``jobs`` processes into one output, in order: what one process writes for
    them. Returns a summary of the run (files, tokens, entities, seconds)."""
    model = model_path(model)
    types = load_model(model).labels.types   # a bad model fails here, before any worker starts
    sizes = [os.path.getsize(p) for p in paths]
    files = [(str(p), k, str(p)) for k, p in enumerate(paths)]
    totals = {"files": len(paths), "tokens": 0, "entities": 0}
    start = time.perf_counter()
    parts = groups(sizes, group_bytes(sum(sizes), jobs))
    with process_pool(max(1, min(jobs, len(parts))), model) as pool:
        writer = WRITERS[fmt](out, types, [str(p) for p in paths])
        writer.begin()
        tasks = (([files[k] for k in part], model, fmt, scheme, batch_size) for part in parts)
        for part, (text, summary) in zip(parts, _in_order(pool, tag_text, tasks, 2 * jobs)):
            out.write(text)
            totals["tokens"] += summary["tokens"]
            totals["entities"] += summary["entities"]
            if progress:
                progress(sum(sizes[k] for k in part))
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
    remove_stale_temporaries(outputs)
    start = time.perf_counter()
    files = [(str(p), o, k, str(p)) for k, (p, o) in enumerate(zip(inputs, outputs))]
    todo = [f for f in files if not f[1].exists()]
    sizes = [os.path.getsize(f[0]) for f in todo]
    parts = groups(sizes, group_bytes(sum(sizes), jobs))
    tasks = [([todo[k] for k in part], model, fmt, scheme, batch_size) for part in parts]
    done = {}
    with (process_pool(min(jobs, len(tasks)), model) if jobs > 1 and tasks else _no_pool()) as pool:
        results = _in_order(pool, tag_many, tasks, 2 * jobs) if pool else (tag_many(*t) for t in tasks)
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
