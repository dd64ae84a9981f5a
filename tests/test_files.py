"""Safe writes: a regular file is replaced atomically, anything else keeps its type."""

import os
import stat
import subprocess
import sys
import threading

import pytest

from nerwin.errors import DataError
from nerwin.files import atomic_file, atomic_write


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


def test_a_fifo_stays_a_fifo_and_its_reader_gets_the_data(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    atomic_write(fifo, b"through the pipe")
    reader.join(timeout=30)
    assert got == [b"through the pipe"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert os.listdir(tmp_path) == ["fifo"]


def test_a_symlink_to_a_fifo_writes_into_the_fifo(tmp_path):
    fifo, link = tmp_path / "fifo", tmp_path / "link"
    os.mkfifo(fifo)
    link.symlink_to(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    atomic_write(link, b"data")
    reader.join(timeout=30)
    assert got == [b"data"] and link.is_symlink() and stat.S_ISFIFO(fifo.lstat().st_mode)


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
