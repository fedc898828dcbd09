"""`lowtf data fetch` refuses a gzip that inflates past the file's size early (memory stays flat, no
checksum is computed over gigabytes) and leaves no file, half-written or whole, behind."""
import subprocess
import sys
import zlib

import pytest

from lowtf.data.gunzip import InflatesTooFar, gunzip

FETCH_A_BOMB = """
import resource, sys
from pathlib import Path
from lowtf.data import fashion_mnist
from lowtf.data.store import DataError

fashion_mnist.SYSTEM_DIR = Path(sys.argv[1])
fashion_mnist.SOURCES = (("installed Debian package", fashion_mnist.from_system),)
print("BEFORE_MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
try:
    fashion_mnist.fetch(Path(sys.argv[2]), log=lambda line: None)
    print("FETCHED")
except DataError as e:
    print("REFUSED", e)
print("PEAK_MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def gzip_of_zeros(path, megabytes: int) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(2 ** 20)
    with open(path, "wb") as f:
        for _ in range(megabytes):
            f.write(packer.compress(block))
        f.write(packer.flush())


def test_a_gzip_bomb_is_refused_early_and_nothing_is_written(tmp_path):
    source, dest = tmp_path / "system", tmp_path / "data"
    source.mkdir()
    # 256 MB of zeros in 0.25 MB (1 GB took 3 s of CPU to pack, for the same proof: inflated whole, the
    # peak would grow by 256 MB, past the 100 MB the check allows); the real file is 60,008 bytes
    gzip_of_zeros(source / "train-labels-idx1-ubyte.gz", 256)
    assert (source / "train-labels-idx1-ubyte.gz").stat().st_size < 2 ** 20
    run = subprocess.run([sys.executable, "-c", FETCH_A_BOMB, str(source), str(dest)], capture_output=True,
                         text=True, timeout=300)
    assert "REFUSED" in run.stdout, run.stdout + run.stderr
    assert "decompresses to more than 60,008 bytes" in run.stdout
    grew = int(run.stdout.split("PEAK_MB")[1]) - int(run.stdout.split("BEFORE_MB")[1].split()[0])
    assert grew < 100, f"the peak grew {grew} MB: the 256 MB were inflated"
    assert not dest.exists() or list(dest.iterdir()) == []


def test_gunzip_keeps_gzips_rules():
    import gzip

    data = b"abc" * 1000
    assert gunzip(gzip.compress(data), len(data), "x") == data
    assert gunzip(gzip.compress(data) + gzip.compress(b"!"), len(data) + 1, "x") == data + b"!"
    with pytest.raises(InflatesTooFar):
        gunzip(gzip.compress(data), len(data) - 1, "x")
    with pytest.raises(ValueError, match="ends early"):
        gunzip(gzip.compress(data)[:-20], len(data), "x")
