"""A pretrained matrix kept row-major in the cache folder, memory-mapped.

GloVe's package ships its 400,000 x 50 matrix column-major: one word's vector is 50 values
1.6 MB apart, so reading the vectors of a few words means reading every column. A row-major
copy in :func:`~nerwin.wordindex.cache_dir` (beside the word index) makes a word's vector 200
contiguous bytes: a call reads the pages of its words only.

The file is MAGIC, a JSON header padded to :data:`HEADER` bytes, then the float32 rows. It is
keyed by the source file's size, modification time and inode, so it is rebuilt when the package
is reinstalled or changes; written atomically (a reader never sees half a file); checked on
opening by its size and by a few rows compared with the source; safe to delete at any time
(a process that has it mapped keeps reading the old file). An unwritable cache folder means
no copy, never an error.
"""

from __future__ import annotations

import mmap
import os

import numpy as np

from nerwin.errors import DataError
from nerwin.files import atomic_file
from nerwin.wordindex import HEADER, cache_dir, read_header, write_header

MAGIC = b"nerwin row-major matrix\n"
VERSION = 1
BLOCK = 32768     # rows converted at a time while building (6.5 MB of 50d float32)


class MappedRows:
    """A (n, d) float32 matrix memory-mapped from a file. :meth:`take` copies rows out, then
    lets go of the mapped pages: the file stays in the page cache, shared by every process,
    but no longer counts towards this one's memory (else reading 20,000 scattered rows would
    add most of the file to this process's resident size)."""

    def __init__(self, mapping: mmap.mmap, n: int, d: int):
        self._mapping = mapping
        self.array = np.frombuffer(mapping, np.float32, n * d, HEADER).reshape(n, d)

    def take(self, rows: np.ndarray) -> np.ndarray:
        out = self.array.take(rows, axis=0)
        if hasattr(mmap, "MADV_DONTNEED"):
            self._mapping.madvise(mmap.MADV_DONTNEED)
        return out


def row_major(name: str, source: np.memmap) -> MappedRows | None:
    """The rows of ``source`` (a column-major float32 ``.npy`` memory map) from the cache file
    ``cache_dir() / name``, built there first if missing, stale or damaged; None if it cannot
    be written."""
    if not (source.ndim == 2 and source.flags.f_contiguous and source.filename):
        return None
    try:
        st = os.stat(source.filename)
        path = cache_dir() / name
    except (OSError, RuntimeError):   # RuntimeError: no home folder to put the cache in
        return None
    n, d = source.shape
    key = f"v{VERSION}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{source.offset}:{n}x{d}"
    found = _open(path, key, n, d, source)
    if found is not None:
        return found
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as f:
            _write(f, key, source)
    except (OSError, DataError):
        return None
    return _open(path, key, n, d, source)


def _columns(source: np.memmap, start: int, stop: int) -> np.ndarray:
    """``source[start:stop]`` as a C-ordered float32 block, read a column piece at a time
    with ``pread`` (so building never maps the whole source into this process)."""
    n, d = source.shape
    block = np.empty((d, stop - start), np.float32)
    size = source.itemsize
    with open(source.filename, "rb") as f:
        for j in range(d):
            want = (stop - start) * size
            raw = os.pread(f.fileno(), want, source.offset + (j * n + start) * size)
            if len(raw) != want:
                raise OSError(f"{source.filename}: shorter than its header says")
            block[j] = np.frombuffer(raw, source.dtype)
    return np.ascontiguousarray(block.T)


def _write(f, key: str, source: np.memmap) -> None:
    n, d = source.shape
    meta = {"version": VERSION, "key": key, "rows": n, "dim": d, "dtype": "<f4"}
    write_header(f, MAGIC, meta)
    for start in range(0, n, BLOCK):
        f.write(_columns(source, start, min(start + BLOCK, n)).astype("<f4", copy=False).tobytes())


def _open(path, key: str, n: int, d: int, source: np.memmap) -> MappedRows | None:
    """The mapped file if it is whole and was made from this source, else None."""
    try:
        with open(path, "rb") as f:
            meta = read_header(f, MAGIC)
            if meta is None or meta.get("key") != key or (meta.get("rows"), meta.get("dim"), meta.get("dtype")) != (n, d, "<f4"):
                return None
            if os.fstat(f.fileno()).st_size != HEADER + n * d * 4:
                return None
            mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        rows = MappedRows(mapping, n, d)
        probe = np.unique([0, n // 3, 2 * n // 3, n - 1]) if n else np.zeros(0, np.int64)
        for r in probe.tolist():   # a few rows must be the source's, value for value
            if rows.array[r].tobytes() != _columns(source, r, r + 1)[0].tobytes():
                return None
        return rows
    except (OSError, ValueError, AttributeError):
        return None
