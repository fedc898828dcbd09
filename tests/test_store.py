"""The fetch-and-verify logic, on small synthetic files (no network)."""
import pytest

from lowtf.data.store import DataError, DataFile, SourceUnavailable, ensure, md5_of

GOOD = b"hello, mnist"
SPEC = DataFile("f", 0x801, len(GOOD), md5_of(GOOD))


def serving(data):
    calls = []

    def source(missing):
        calls.append([s.name for s in missing])
        return {s.name: data for s in missing}
    return source, calls


def test_existing_verified_file_is_kept_without_fetching(tmp_path):
    (tmp_path / "f").write_bytes(GOOD)
    source, calls = serving(GOOD)
    assert ensure([SPEC], tmp_path, [("src", source)], log=lambda m: None) == {"f": tmp_path / "f"}
    assert calls == []


def test_corrupt_file_is_reported_and_refetched(tmp_path):
    (tmp_path / "f").write_bytes(b"hello, mnisT")
    logs = []
    source, calls = serving(GOOD)
    ensure([SPEC], tmp_path, [("src", source)], log=logs.append)
    assert (tmp_path / "f").read_bytes() == GOOD
    assert calls == [["f"]]
    assert "corrupt" in logs[0] and "fetching it again" in logs[0]


def test_truncated_file_is_refetched(tmp_path):
    (tmp_path / "f").write_bytes(GOOD[:5])
    source, _ = serving(GOOD)
    logs = []
    ensure([SPEC], tmp_path, [("src", source)], log=logs.append)
    assert "truncated" in logs[0] and (tmp_path / "f").read_bytes() == GOOD


def test_bad_bytes_from_a_source_are_never_written(tmp_path):
    bad, _ = serving(b"tampered!!!!")
    good, _ = serving(GOOD)
    ensure([SPEC], tmp_path, [("bad", bad), ("good", good)], log=lambda m: None)
    assert (tmp_path / "f").read_bytes() == GOOD
    with pytest.raises(DataError, match="bad: f failed verification"):
        ensure([SPEC], tmp_path / "other", [("bad", bad)], log=lambda m: None)
    assert not (tmp_path / "other" / "f").exists()
    assert list((tmp_path).glob(".*tmp")) == []


def test_no_source_error_says_what_was_tried_and_the_fix(tmp_path):
    def offline(missing):
        raise SourceUnavailable("no network")
    with pytest.raises(DataError) as info:
        ensure([SPEC], tmp_path, [("mirror", offline)], log=lambda m: None)
    message = str(info.value)
    assert "could not fetch f" in message and "mirror: no network" in message and "Fix:" in message


def test_unavailable_source_falls_through_to_next(tmp_path):
    def offline(missing):
        raise SourceUnavailable("no network")
    good, calls = serving(GOOD)
    ensure([SPEC], tmp_path, [("mirror", offline), ("wheel", good)], log=lambda m: None)
    assert calls == [["f"]]
