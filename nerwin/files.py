"""Files handled safely whatever they hold or are.

Writes: a regular file (or a new path) is written to a temporary file in the same folder,
flushed, synced, then renamed over the target, so a crash or a full disk never leaves a
half-written file in its place. A symbolic link is followed: its target is what gets replaced.
Anything else (a device such as ``/dev/null``, a FIFO) is written to directly: renaming over it
would replace the device with a file.

Reads trust no declared size: ``.npz`` arrays (:func:`read_npz`) and line-oriented text, plain
or gzipped (:func:`read_lines_file`), are checked against limits before memory is taken.
Globs (:func:`glob_files`) give each real file once and never loop.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import re
import stat
import tempfile
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from nerwin.errors import DataError


@contextmanager
def atomic_file(path):
    """A binary file that takes the place of ``path`` only when the block completes.

    A regular file or a new path: written to ``.NAME.PID.XXXXXXXX.tmp`` in the same folder,
    flushed, synced, given the old file's permission bits (an ordinary new file's if there was
    none) and renamed over it; on any error the temporary file is removed and the file is
    untouched. Temporary files left by a killed nerwin (its process gone) are removed first.
    A symbolic link is resolved first, so the file it points to is replaced and the link stays.
    A device or a FIFO is opened and written as it is. Any failure is a :class:`DataError`."""
    path = Path(os.path.realpath(path))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise DataError(f"{path}: cannot write: {e.strerror}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise DataError(f"{path}: cannot write: it is a folder")
    if st is not None and not stat.S_ISREG(st.st_mode):
        with _direct(path) as f:
            yield f
        return
    remove_stale_temporaries([path])
    fd, tmp = _temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if st is None:
            os.chmod(tmp, _new_file_mode())
        else:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
                try:
                    os.chown(tmp, st.st_uid, st.st_gid)
                except PermissionError:
                    pass            # only root may give a file away; the mode is kept all the same
        os.replace(tmp, path)
    except OSError as e:
        raise DataError(f"{path}: cannot write: {e.strerror}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


@contextmanager
def _direct(path: Path):
    """``path``, not a regular file, opened and written as it is; errors (``/dev/full``'s
    "No space left on device", a FIFO whose reader went away) are a :class:`DataError`."""
    try:
        with open(path, "wb") as f:
            yield f
            f.flush()
    except OSError as e:
        raise DataError(f"{path}: cannot write: {e.strerror}") from None


TEMP_SUFFIX = "[a-z0-9_]{8}"    # the random part tempfile adds to a name


def _temporary(path: Path) -> tuple[int, str]:
    """A new temporary file beside ``path``, ``.NAME.PID.XXXXXXXX.tmp`` (the names
    :func:`remove_stale_temporaries` knows): its descriptor and path."""
    try:
        return tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise DataError(f"{path}: cannot write here: {e.strerror}") from None


def _new_file_mode() -> int:
    """The permission bits of an ordinary new file (0666 less the umask), not mkstemp's 0600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def leftovers(folder: Path, pattern: str) -> dict[Path, int]:
    """What killed nerwin processes left in ``folder``, each with the id of the process that
    made it: the entries whose whole name matches ``pattern``, a regex whose first group is
    that id (nerwin puts it in every temporary name), when that process is gone. A live
    process's are not leftovers: it may still be writing them. An unreadable folder has none."""
    regex = re.compile(pattern)
    try:
        names = sorted(e.name for e in os.scandir(folder))
    except OSError:
        return {}                   # whoever writes there next will say what is wrong
    found = {folder / name: int(m[1]) for name in names if (m := regex.fullmatch(name))}
    return {path: pid for path, pid in found.items() if not _alive(pid)}


def remove_stale_temporaries(paths) -> None:
    """Remove the temporary files of earlier writes of ``paths`` whose process is gone (killed
    in the middle of a write): only names :func:`_temporary` makes, ``.NAME.PID.XXXXXXXX.tmp``;
    each folder is listed once however many paths it holds."""
    by_folder: dict[Path, set[str]] = {}
    for path in map(Path, paths):
        by_folder.setdefault(path.parent, set()).add(path.name)
    for folder, targets in by_folder.items():
        for leftover in leftovers(folder, rf"(?s)\..+\.(\d+)\.{TEMP_SUFFIX}\.tmp"):
            if leftover.name[1:].rsplit(".", 3)[0] in targets:     # .NAME.PID.XXXXXXXX.tmp
                leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True                 # another user's process
    except OverflowError:
        return False                # not a pid at all
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has exited and only waits to be reaped (Linux; elsewhere False): a
    killed worker whose parent died too can stay so for a while, and writes nothing more."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:][:1] == b"Z"      # the state follows the name in parentheses


@contextmanager
def atomic_files():
    """Many files that take their places together when the block completes. The block gets a
    function ``stage(path)``, a context manager giving a binary file that is written to a
    temporary file beside ``path``; at the end all of them are synced at once (one ``os.sync``,
    far cheaper than an fsync for each of many small files) and renamed into place. On any
    error the temporary files are removed and no target is touched."""
    staged: list[tuple[str, Path]] = []

    @contextmanager
    def stage(path):
        path = Path(path)
        fd, tmp = _temporary(path)
        staged.append((tmp, path))
        try:
            with os.fdopen(fd, "wb") as f:
                yield f
        except OSError as e:
            raise DataError(f"{path}: cannot write: {e.strerror}") from None

    try:
        yield stage
        os.sync()
        mode = _new_file_mode()
        for tmp, path in staged:
            try:
                os.chmod(tmp, mode)
                os.replace(tmp, path)
            except OSError as e:
                raise DataError(f"{path}: cannot write: {e.strerror}") from None
    finally:
        for tmp, _ in staged:
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


MAX_INFLATION = 16            # an .npz may hold at most this many times its own size once read,
MIN_INFLATION_ALLOWANCE = 64 << 20   # or this many bytes, whichever is more


def read_npz(path, refusal: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, read without unpickling and without trusting a size:
    each member must be a plain ``.npy`` whose declared shape and type account exactly for
    its declared length, and the arrays together may hold at most :data:`MAX_INFLATION` times
    the file's size (or :data:`MIN_INFLATION_ALLOWANCE` bytes): a 4 MB zip bomb or a member
    declaring 10**12 elements is refused before anything is allocated. Any damage is the
    one-line :class:`DataError` ``"PATH: refusal"``."""
    damaged = f"{path}: {refusal}"
    try:
        size = os.stat(path).st_size
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            allowance = max(MAX_INFLATION * size, MIN_INFLATION_ALLOWANCE)
            if sum(i.file_size for i in infos) > allowance:
                raise DataError(f"{path}: its arrays would take {sum(i.file_size for i in infos):,} "
                                f"bytes, more than the {allowance:,} a file of its size may hold "
                                f"(a compressed bomb?); {refusal}")
            if any(i.compress_type == zipfile.ZIP_STORED and i.compress_size != i.file_size
                   or i.compress_size > size for i in infos):
                raise DataError(damaged)
            return {i.filename.removesuffix(".npy"): _read_member(archive, i, damaged) for i in infos}
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
            RuntimeError, OverflowError):
        raise DataError(damaged) from None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, damaged: str) -> np.ndarray:
    """One ``.npy`` member, its header checked against the member's length before reading."""
    def refuse(reason):
        return DataError(f"{damaged} [{info.filename[:100]}: {reason}]")
    if not info.filename.endswith(".npy"):
        raise refuse("not a .npy array")
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise refuse(f".npy format version {version}")
        shape, fortran, dtype = read_header(f, max_header_size=10_000)
        if dtype.hasobject:
            raise refuse("an array of Python objects, which only pickle could read")
        count = 1
        for n in shape:
            count *= n
        nbytes = count * dtype.itemsize
        if min(shape, default=0) < 0 or f.tell() + nbytes != info.file_size:
            raise refuse(f"declares {shape} {dtype} but holds {info.file_size - f.tell():,} bytes")
        buffer = bytearray(nbytes)
        if f.readinto(buffer) != nbytes:
            raise refuse("shorter than declared")
    array = np.frombuffer(buffer, dtype, count)
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


LONGEST_LINE = 16 << 20       # bytes: a longer line in a text input file is refused


def read_lines_file(path, what: str, encoding: str = "utf-8") -> bytearray:
    """The bytes of a line-oriented text file (``.gz`` inflated), read piece by piece so that
    neither an endless source nor a bomb exhausts memory: a line longer than
    :data:`LONGEST_LINE` bytes (``/dev/zero``, a 1 GB "word") is a :class:`DataError`, and a
    ``.gz`` may inflate to at most :data:`MAX_INFLATION` times its size (or
    :data:`MIN_INFLATION_ALLOWANCE` bytes). ``what`` names the expected content in messages;
    ``OSError`` (no such file, a folder, permission denied) is left to the caller."""
    path = Path(path)
    ends = _line_end_bytes(encoding)
    gz = path.suffix == ".gz"
    with (gzip.open(path, "rb") if gz else open(path, "rb")) as f:
        allowance = max(MAX_INFLATION * os.fstat(f.fileno()).st_size, MIN_INFLATION_ALLOWANCE) if gz else None
        data, run = bytearray(), 0       # grown in place: no second copy of a big file
        while piece := f.read(LONGEST_LINE):
            if allowance is not None and len(data) + len(piece) > allowance:
                raise DataError(f"{path}: inflates beyond {allowance:,} bytes, the most a file of its "
                                f"size may hold (a compressed bomb?); expected {what}")
            if ends:
                first = min((i for i in map(piece.find, ends) if i >= 0), default=-1)
                if (run + (first if first >= 0 else len(piece))) > LONGEST_LINE:
                    raise DataError(f"{path}: a line longer than {LONGEST_LINE:,} bytes "
                                    f"(after line {_count_lines(data, ends) + 1}); expected {what}")
                run = len(piece) - 1 - max(map(piece.rfind, ends)) if first >= 0 else run + len(piece)
            data += piece
    return data


def _line_end_bytes(encoding: str) -> list[bytes]:
    """The bytes that can end a line in ``encoding`` (LF and CR as encoded, ignoring NUL
    padding), or none if the encoding is unknown (its decoding will say so)."""
    try:
        encoded = "\n\r".encode(encoding)
    except (LookupError, UnicodeError):
        return []
    return [bytes([b]) for b in set(encoded) - {0}]


def _count_lines(data: bytearray, ends: list[bytes]) -> int:
    return data.count(b"\n" if b"\n" in ends else ends[0])


def glob_files(pattern: str) -> list[str]:
    """The files ``pattern`` matches, sorted, as :func:`glob.glob` (``recursive=True``) finds
    them, but each real file once and without looping: ``**`` follows a symbolic link to a
    folder only into a folder not yet visited (a link to ``.`` or ``..`` adds nothing), and a
    file found under several names is given once, by its own name when that is one of them.
    Wildcards skip names starting with a dot, as in
    :mod:`glob`."""
    parts = pattern.split(os.sep)
    if "**" not in parts:
        found = glob.glob(pattern)          # no recursion: as deep as the pattern, cannot loop
    else:
        k = parts.index("**")
        prefix = os.sep.join(parts[:k])
        bases = glob.glob(prefix) if glob.has_magic(prefix) else [prefix]
        rest = re.compile(_regex(parts[k:]), re.S)
        found = [f for base in bases if os.path.isdir(base or ".") for f in _walk_matching(base, rest)]
    names = {}                  # each real file once, by its own name rather than a link's
    for path in sorted(found, key=lambda p: (os.path.realpath(p) != os.path.abspath(p), p)):
        if os.path.isfile(path):
            st = os.stat(path)
            names.setdefault((st.st_dev, st.st_ino), path)
    return sorted(names.values())


def _walk_matching(base: str, rest: re.Pattern) -> list[str]:
    """Paths under ``base`` whose part after ``base`` matches ``rest``; every real folder is
    entered once, whatever links lead to it."""
    seen, out = set(), []
    for folder, subfolders, files in os.walk(base or ".", followlinks=True):
        st = os.stat(folder)
        if (st.st_dev, st.st_ino) in seen:
            subfolders[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        relative = os.path.relpath(folder, base or ".")
        relative = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        out += [os.path.join(folder, f) if base else os.path.relpath(os.path.join(folder, f))
                for f in files if rest.match(relative + f)]
    return out


def _regex(parts: list[str]) -> str:
    """A regex for the components of a glob pattern, joined by ``/``: ``**`` is any run of
    folders (and, last, the file too) whose names do not start with a dot."""
    out = ""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out += r"(?:(?!\.)[^/]+/)*" + (r"(?!\.)[^/]+" if last else "")
        else:
            out += _component(part) + ("" if last else "/")
    return out + r"\Z"


def _component(part: str) -> str:
    """A regex for one name of a glob pattern: ``*``, ``?`` and ``[...]`` within the name,
    never matching a leading dot."""
    out, i = [] if part.startswith(".") else [r"(?!\.)"], 0
    while i < len(part):
        c = part[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and (j := part.find("]", i + 2 if part[i + 1:i + 2] in ("!", "]") else i + 1)) > 0:
            body = part[i + 1:j].replace("\\", "\\\\")
            body = "^" + body[1:] if body.startswith("!") else "\\" + body if body.startswith("^") else body
            out.append(f"[{body}]")
            i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)
