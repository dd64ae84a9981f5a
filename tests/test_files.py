"""Safe writes (a regular file is replaced atomically, anything else keeps its type), reading
.npz files without trusting what they declare, and globs that never loop."""

import glob
import io
import os
import stat
import subprocess
import sys
import threading
import zipfile

import numpy as np
import pytest

from nerwin.errors import DataError
from nerwin.files import atomic_file, atomic_write, glob_files, leftovers, npz_bytes, read_npz


def test_new_and_regular_files_are_replaced_whole(tmp_path):
    path = tmp_path / "out.txt"
    atomic_write(path, b"one")
    atomic_write(path, b"two")
    assert path.read_bytes() == b"two"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_an_error_in_the_block_leaves_the_old_file(tmp_path):
    path = tmp_path / "out.txt"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_file(path) as f:
            f.write(b"half")
            raise RuntimeError
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.txt"]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_permission_bits_are_kept(tmp_path, mode):
    path = tmp_path / "private.txt"
    path.write_bytes(b"secret")
    path.chmod(mode)
    atomic_write(path, b"new")
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_a_symlink_is_written_through_to_its_target(tmp_path):
    target, link = tmp_path / "target.txt", tmp_path / "link.txt"
    target.write_bytes(b"old")
    target.chmod(0o600)
    link.symlink_to("target.txt")
    atomic_write(link, b"new")
    assert link.is_symlink() and os.readlink(link) == "target.txt"
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to("target.txt")
    atomic_write(link, b"new")
    assert link.is_symlink() and (tmp_path / "target.txt").read_bytes() == b"new"


def read_while(fifo, write) -> bytes | None:
    """What a reader of ``fifo`` gets while ``write()`` runs (None if it got nothing in 30 s)."""
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write()
    reader.join(timeout=30)
    return got[0] if got else None


def test_a_fifo_stays_a_fifo_and_its_reader_gets_the_data(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert read_while(fifo, lambda: atomic_write(fifo, b"through the pipe")) == b"through the pipe"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert os.listdir(tmp_path) == ["fifo"]


def test_a_symlink_to_a_fifo_writes_into_the_fifo(tmp_path):
    fifo, link = tmp_path / "fifo", tmp_path / "link"
    os.mkfifo(fifo)
    link.symlink_to(fifo)
    assert read_while(fifo, lambda: atomic_write(link, b"data")) == b"data"
    assert link.is_symlink() and stat.S_ISFIFO(fifo.lstat().st_mode)


def test_dev_null_stays_a_device():
    atomic_write("/dev/null", b"discarded")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_dev_full_is_a_clear_error():
    with pytest.raises(DataError, match=r"/dev/full.*cannot write: No space left on device"):
        atomic_write("/dev/full", b"x" * 10)
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)


def test_a_folder_or_a_symlink_loop_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="it is a folder"):
        atomic_write(tmp_path, b"x")
    loop = tmp_path / "loop"
    loop.symlink_to("loop")
    with pytest.raises(DataError, match="cannot write"):
        atomic_write(loop, b"x")
    assert loop.is_symlink()


def test_temporary_files_of_a_killed_write_are_removed_by_the_next_write(tmp_path):
    path = tmp_path / "out.txt"
    code = (f"import os\nfrom nerwin.files import atomic_file\n"
            f"with atomic_file({str(path)!r}) as f:\n    f.write(b'half'); f.flush(); os._exit(9)\n")
    subprocess.run([sys.executable, "-c", code], check=False)
    leftovers = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert len(leftovers) == 1                          # what kill -9 mid-write leaves
    mine = tmp_path / f".out.txt.{os.getpid()}.abcdefgh.tmp"      # a live process's: kept
    others = [tmp_path / ".other.txt.1.abcdefgh.tmp", tmp_path / ".out.txt.x.tmp"]
    for p in [mine, *others]:
        p.write_bytes(b"")
    atomic_write(path, b"whole")
    assert sorted(os.listdir(tmp_path)) == sorted(["out.txt", mine.name, *(p.name for p in others)])


# ---------------------------------------------------------------- reading .npz files

def test_read_npz_gives_the_arrays_np_load_gives(tmp_path):
    arrays = {"a": np.arange(12.0).reshape(3, 4), "f": np.asfortranarray(np.ones((2, 3), np.float32)),
              "s": np.float64(2.5), "e": np.zeros((0, 5)), "t": np.frombuffer(b"text", np.uint8)}
    path = tmp_path / "x.npz"
    path.write_bytes(npz_bytes(arrays))
    got = read_npz(path, "not an x")
    assert got.keys() == arrays.keys()
    for k, v in arrays.items():
        np.testing.assert_array_equal(got[k], v)
        assert got[k].dtype == np.asarray(v).dtype and got[k].flags.writeable


def _npy(shape, data: bytes, descr="<f4") -> bytes:
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": descr, "fortran_order": False, "shape": shape})
    return f.getvalue() + data


@pytest.mark.parametrize("shape", [(10**6, 10**6), (10**12,), (-1,), (3, 5)])
def test_a_shape_that_does_not_match_the_data_is_refused_before_allocating(tmp_path, shape):
    path = tmp_path / "lying.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("W1.npy", _npy(shape, b"\0" * 64))
    with pytest.raises(DataError, match=r"lying.npz: not an x \[W1.npy: declares .* but holds 64 bytes\]$"):
        read_npz(path, "not an x")


def test_a_zip_bomb_is_refused_before_inflating(tmp_path):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("vocab.npy", "w", force_zip64=True) as f:
            f.write(_npy((200 << 20,), b"", "|u1"))
            zeros = bytes(1 << 20)
            for _ in range(200):
                f.write(zeros)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(DataError, match=r"would take 209,715,\d+ bytes, more than the 67,108,864.*a compressed bomb"):
        read_npz(path, "not an x")


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04" + bytes(40), b"not a zip at all", None])
def test_damaged_or_foreign_files_are_one_error(tmp_path, content):
    path = tmp_path / "bad.npz"
    if content is None:                           # an object array: would need pickle
        np.savez(path, a=np.array([{"x": 1}], dtype=object))
    else:
        path.write_bytes(content)
    with pytest.raises(DataError, match="bad.npz: not an x"):
        read_npz(path, "not an x")


# ---------------------------------------------------------------- globs

@pytest.fixture
def tree(tmp_path, monkeypatch):
    for name in ["d/a.txt", "d/b.md", "d/.dot.txt", "d/sub/c.txt", "d/sub/deeper/e.txt", "d/.hid/h.txt",
                 "d/x/f.txt", "d/sub/g1.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


GLOBS = ["d/**/*.txt", "d/**", "**/*.txt", "d/*/*.txt", "d/**/c.txt", "d/**/deeper/*", "d/s*/**/*.txt",
         "d/**/.hid/*", "d/**/[a-c].txt", "d/**/[!a].txt", "d/sub/**/*", "**", "d/**/*/*.txt", "d/?.txt"]


@pytest.mark.parametrize("pattern", GLOBS)
def test_glob_files_finds_what_glob_finds_without_links(tree, pattern):
    expected = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    assert glob_files(pattern) == expected
    absolute = str(tree / pattern)
    assert glob_files(absolute) == sorted(p for p in glob.glob(absolute, recursive=True) if os.path.isfile(p))


@pytest.mark.parametrize("pattern", GLOBS)
def test_symlink_loops_never_hang_and_give_each_file_once(tree, pattern):
    without = glob_files(pattern)
    for link, target in [("d/l1", "."), ("d/l2", "."), ("d/sub/up", ".."), ("d/x/top", "../..")]:
        os.symlink(target, link)
    found = glob_files(pattern)
    assert len({os.path.realpath(f) for f in found}) == len(found)
    if pattern.startswith(("d/**", "**")):   # the loops lead to folders already visited
        assert found == without


def test_links_to_files_and_folders_elsewhere_are_followed_once(tree):
    (tree / "elsewhere").mkdir()
    (tree / "elsewhere" / "z.txt").write_text("z")
    os.symlink(tree / "elsewhere", tree / "d" / "linked")
    os.symlink(tree / "elsewhere", tree / "d" / "sub" / "linked-again")
    os.symlink("sub/c.txt", tree / "d" / "c-link.txt")
    found = glob_files("d/**/*.txt")
    assert "d/sub/c.txt" in found and "d/c-link.txt" not in found      # its own name wins
    assert len([f for f in found if f.endswith("z.txt")]) == 1


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc to see a zombie")
def test_a_process_that_exited_but_is_not_reaped_left_its_temporaries(tmp_path):
    """A killed worker whose parent died too waits as a zombie until someone reaps it; it
    writes nothing more, so its temporary files are leftovers already."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    while open(f"/proc/{child.pid}/stat", "rb").read().rsplit(b")", 1)[1][1:2] != b"Z":
        pass                                               # exited, not yet waited for
    temp = tmp_path / f".out.jsonl.{child.pid}.abcd1234.tmp"
    temp.write_text("partial")
    try:
        assert leftovers(tmp_path, r"\..+\.(\d+)\.\w+\.tmp") == {temp: child.pid}
    finally:
        child.wait()
