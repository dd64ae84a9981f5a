"""Row lookup in a fixed word list without holding the words as Python strings.

A :class:`WordIndex` keeps the words' UTF-8 bytes end to end (``blob``, cut by ``offsets``),
a 64-bit hash of each word sorted (``hashes``) and the row of each hash (``order``). Looking
a word up is ``np.searchsorted`` on the hashes, then a comparison of the bytes, so a hash
collision can never return a wrong row. The first occurrence of a repeated word wins.

:func:`cached` keeps the index of a word list in a cache file, memory-mapped when read, so a
400,000-word vocabulary costs a few pages per run instead of 400,000 strings. The file is
keyed by a hash of the source file's bytes and checked by a checksum of its own; a stale,
damaged or unreadable file is rebuilt, and an unwritable cache folder means building in
memory every time, never an error.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import zlib
from pathlib import Path
from typing import Callable

import numpy as np

from nerwin.errors import DataError
from nerwin.files import atomic_file

MAGIC = b"nerwin word index\n"
VERSION = 2        # bump when the hash or the layout changes
HEADER = 4096      # bytes before the arrays: MAGIC, then a JSON header padded with spaces
CACHE_ENV = "NERWIN_CACHE_DIR"


def _hash(word: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(word, digest_size=8).digest(), "little")


def _encode(word) -> bytes | None:
    """UTF-8 bytes of a str (lone surrogates kept, so they match nothing); None otherwise."""
    return word.encode("utf-8", "surrogatepass") if isinstance(word, str) else None


class WordIndex:
    """Row of each word of a list: ``hashes`` (n,) sorted, ``order`` (n,) the row of each,
    ``offsets`` (V + 1,) where each row's bytes start in ``blob``; rows left out of the
    hashes (repeats, missing values) are never found."""

    def __init__(self, hashes, order, offsets, blob):
        self.hashes, self.order, self.offsets, self.blob = hashes, order, offsets, blob

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def build(cls, blob, offsets, valid=None) -> "WordIndex":
        """The index of the words ``blob[offsets[i]:offsets[i + 1]]``; rows where ``valid``
        is False (missing values) are never found."""
        blob = np.frombuffer(bytes(blob), np.uint8)
        offsets = np.asarray(offsets, np.int64)
        raw = blob.tobytes()
        hashes = np.fromiter((_hash(raw[a:b]) for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())),
                             np.uint64, len(offsets) - 1)
        rows = np.arange(len(hashes), dtype=np.int64) if valid is None else np.flatnonzero(valid)
        rows = rows[np.argsort(hashes[rows], kind="stable")]  # equal hashes stay in row order
        keep = np.ones(len(rows), bool)
        same = np.flatnonzero(hashes[rows[1:]] == hashes[rows[:-1]]) + 1
        for k in same:  # a repeat (or a collision): drop the later row if its bytes are a repeat
            j = k - 1
            while j >= 0 and hashes[rows[j]] == hashes[rows[k]]:
                a, b = rows[j], rows[k]
                if keep[j] and raw[offsets[a]:offsets[a + 1]] == raw[offsets[b]:offsets[b + 1]]:
                    keep[k] = False
                    break
                j -= 1
        rows = rows[keep]
        return cls(hashes[rows], rows.astype(np.int32 if len(offsets) < 2**31 else np.int64), offsets, blob)

    @classmethod
    def from_words(cls, words) -> "WordIndex":
        """The index of a list of str."""
        encoded = [_encode(w) for w in words]
        valid = np.array([e is not None for e in encoded], bool)
        lengths = np.fromiter((len(e) if e is not None else 0 for e in encoded), np.int64, len(encoded))
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        return cls.build(b"".join(e for e in encoded if e is not None), offsets, valid)

    def lookup(self, words) -> np.ndarray:
        """Row of each word (int64), -1 where the list does not hold it."""
        encoded = [_encode(w) for w in words]
        rows = np.full(len(encoded), -1, np.int64)
        todo = [i for i, e in enumerate(encoded) if e is not None]
        h = np.fromiter((_hash(encoded[i]) for i in todo), np.uint64, len(todo))
        lo = np.searchsorted(self.hashes, h, "left")
        span = np.searchsorted(self.hashes, h, "right") - lo
        found = np.full(len(todo), -1, np.int64)
        blob = memoryview(self.blob)
        for d in range(int(span.max(initial=0))):  # the d-th word of each run of equal hashes
            pick = np.flatnonzero((span > d) & (found < 0))
            candidates = self.order[lo[pick] + d].astype(np.int64)
            starts, ends = self.offsets[candidates].tolist(), self.offsets[candidates + 1].tolist()
            for j, row, a, b in zip(pick.tolist(), candidates.tolist(), starts, ends):
                if blob[a:b] == encoded[todo[j]]:
                    found[j] = row
        rows[todo] = found
        return rows

    def words(self) -> np.ndarray:
        """Every word of the list, in row order, as an object array of str."""
        raw, off = self.blob.tobytes(), self.offsets.tolist()
        return np.array([raw[a:b].decode("utf-8", "surrogatepass") for a, b in zip(off[:-1], off[1:])], object)

    # ---------------------------------------------------------------- cache file
    def write(self, f, key: str) -> None:
        """Write the index as a cache file, keyed by ``key``."""
        arrays = {"hashes": self.hashes, "order": self.order, "offsets": self.offsets, "blob": self.blob}
        order = "int64" if self.order.dtype.itemsize == 8 else "int32"
        chunks, position, crc = [], HEADER, 0
        for name, dtype, start, count in _layout(len(self.hashes), len(self), len(self.blob), order):
            chunks.append(b"\0" * (start - position) + np.ascontiguousarray(arrays[name], dtype).tobytes())
            position = start + count * dtype.itemsize
            crc = zlib.crc32(chunks[-1], crc)
        meta = {"version": VERSION, "key": key, "n": len(self.hashes), "rows": len(self),
                "blob": len(self.blob), "order": order, "crc32": crc}
        write_header(f, MAGIC, meta)
        for chunk in chunks:
            f.write(chunk)

    @classmethod
    def read(cls, path, key: str) -> "WordIndex | None":
        """The index in a cache file, memory-mapped; None if the file is missing, was made
        from another source (``key``), is of another version, truncated or damaged."""
        try:
            with open(path, "rb") as f:
                meta = read_header(f, MAGIC)
                if meta is None or meta.get("version") != VERSION or meta.get("key") != key:
                    return None
                layout = _layout(meta["n"], meta["rows"], meta["blob"], meta["order"])
                name, dtype, start, count = layout[-1]
                if os.fstat(f.fileno()).st_size != start + count * dtype.itemsize:
                    return None
                crc, buffer = 0, bytearray(1 << 20)
                view = memoryview(buffer)
                while n := f.readinto(buffer):
                    crc = zlib.crc32(view[:n], crc)
                if crc != meta["crc32"]:
                    return None
                mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        arrays = {name: np.frombuffer(mm, dtype, count, start) for name, dtype, start, count in layout}
        return cls(arrays["hashes"], arrays["order"], arrays["offsets"], arrays["blob"])


def write_header(f, magic: bytes, meta: dict) -> None:
    """A cache file's first :data:`HEADER` bytes: ``magic``, then ``meta`` as JSON, padded with spaces."""
    f.write((magic + json.dumps(meta).encode("ascii")).ljust(HEADER, b" "))


def read_header(f, magic: bytes) -> dict | None:
    """The ``meta`` :func:`write_header` wrote, or None when the file does not start so
    (ValueError for a header that is not JSON)."""
    head = f.read(HEADER)
    if len(head) != HEADER or not head.startswith(magic):
        return None
    return json.loads(head[len(magic):])


def _layout(n: int, rows: int, blob: int, order: str) -> list[tuple[str, np.dtype, int, int]]:
    """(name, dtype, byte offset, length) of each array of a cache file, little-endian, each
    starting on a 64-byte boundary."""
    if not (0 <= n <= rows and blob >= 0 and order in ("int32", "int64")):
        raise ValueError("bad header")
    out, position = [], HEADER
    for name, dtype, count in (("hashes", "<u8", n), ("order", "<i4" if order == "int32" else "<i8", n),
                               ("offsets", "<i8", rows + 1), ("blob", "u1", blob)):
        dtype = np.dtype(dtype)
        out.append((name, dtype, position, count))
        position += -(-count * dtype.itemsize // 64) * 64
    return out


def cache_dir() -> Path:
    """``$NERWIN_CACHE_DIR``, else ``$XDG_CACHE_HOME/nerwin``, else ``~/.cache/nerwin``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nerwin"


def file_key(path) -> str:
    """A hash of a file's bytes, read in pieces."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while piece := f.read(1 << 20):
            h.update(piece)
    return h.hexdigest()


def cached(name: str, source, build: Callable[[], WordIndex]) -> WordIndex:
    """The index of the word list in file ``source``: read from ``cache_dir() / name`` if that
    was made from the same bytes, else made by ``build()`` and written there atomically (or
    only kept in memory when the cache folder cannot be written)."""
    key = f"v{VERSION}:{file_key(source)}"
    try:
        path = cache_dir() / name
    except RuntimeError:  # no home folder to put the cache in
        return build()
    index = WordIndex.read(path, key)
    if index is not None:
        return index
    index = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as f:
            index.write(f, key)
    except (OSError, DataError):
        return index
    return WordIndex.read(path, key) or index
