"""Safe writes: a temporary file in the same folder, flushed, synced, then renamed over the
target, so a crash or a full disk never leaves a half-written file in its place."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from nerwin.errors import DataError


@contextmanager
def atomic_file(path):
    """A binary file that takes the place of ``path`` only when the block completes: written
    to a temporary file in the same folder, flushed, synced, given ordinary permissions and
    renamed; on any error the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise DataError(f"{path}: cannot write here: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
        os.replace(tmp, path)
    except OSError as e:
        raise DataError(f"{path}: cannot write: {e.strerror}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def atomic_write(path, data: bytes) -> None:
    with atomic_file(path) as f:
        f.write(data)


def atomic_write_text(path, text: str) -> None:
    atomic_write(path, text.encode("utf-8"))


def npz_bytes(arrays: dict) -> bytes:
    """The bytes of an ``.npz`` holding ``arrays`` (as ``np.savez`` writes it, readable by
    ``np.load(allow_pickle=False)``), with fixed timestamps: the same arrays always give
    the same bytes, so a model trained twice with one seed is the same file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()
