"""Safe writes: a temporary file in the same folder, flushed, synced, then renamed over the
target, so a crash or a full disk never leaves a half-written file in its place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from nerwin.errors import DataError


def atomic_write(path, data: bytes) -> None:
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise DataError(f"{path}: cannot write here: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise DataError(f"{path}: cannot write: {e.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path, text: str) -> None:
    atomic_write(path, text.encode("utf-8"))
