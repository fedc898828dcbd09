import gzip

import numpy as np
import pytest

from lowtf.data.idx import IdxError, idx_bytes, read_idx, write_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    path = write_idx(tmp_path / name, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    back = read_idx(path)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_mnist_header_layout():
    raw = idx_bytes(np.zeros((2, 28, 28), np.uint8))
    assert raw[:4] == bytes([0, 0, 8, 3])
    assert raw[4:16] == (2).to_bytes(4, "big") + (28).to_bytes(4, "big") + (28).to_bytes(4, "big")
    assert len(raw) == 16 + 2 * 784


def test_bad_magic_names_the_file(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"\x12\x34\x08\x01" + b"\0" * 8)
    with pytest.raises(IdxError, match=r"junk: bad magic number 0x12340801"):
        read_idx(path)


def test_expected_magic_checked(tmp_path):
    path = write_idx(tmp_path / "labels", np.zeros(3, np.uint8))
    with pytest.raises(IdxError, match="expected 0x00000803"):
        read_idx(path, expect_magic=0x803)


def test_truncated_file_says_truncated(tmp_path):
    path = write_idx(tmp_path / "imgs", np.zeros((4, 5, 5), np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(IdxError, match=r"imgs: dims \[4, 5, 5\] need 116 bytes but the file has 106 \(truncated\)"):
        read_idx(path)


def test_trailing_data_rejected(tmp_path):
    path = write_idx(tmp_path / "imgs", np.zeros((1, 2), np.uint8))
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(IdxError, match="trailing data"):
        read_idx(path)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(100, np.uint8)))[:-20])
    with pytest.raises(IdxError, match="corrupt gzip"):
        read_idx(path)


def test_unsupported_dtype():
    with pytest.raises(IdxError, match="cannot be stored"):
        idx_bytes(np.zeros(3, np.complex64))
