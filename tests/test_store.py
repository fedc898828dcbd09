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
    assert "Could not fetch f" in message and "mirror: no network" in message and "Fix:" in message


def test_unavailable_source_falls_through_to_next(tmp_path):
    def offline(missing):
        raise SourceUnavailable("no network")
    good, calls = serving(GOOD)
    ensure([SPEC], tmp_path, [("mirror", offline), ("wheel", good)], log=lambda m: None)
    assert calls == [["f"]]


def test_a_corrupt_file_that_cannot_be_refetched_is_named_in_the_error(tmp_path):
    (tmp_path / "f").write_bytes(b"hello, mnisT")

    def offline(missing):
        raise SourceUnavailable("no network")
    with pytest.raises(DataError, match=r"Found .*f: MD5 .* \(corrupt\).*Tried: src: no network"):
        ensure([SPEC], tmp_path, [("src", offline)], log=lambda m: None)


def test_folder_in_the_way_and_data_dir_that_is_a_file_are_clear_errors(tmp_path, monkeypatch):
    (tmp_path / "f").mkdir()
    source, calls = serving(GOOD)
    with pytest.raises(DataError, match="is a folder where the data file f belongs"):
        ensure([SPEC], tmp_path, [("src", source)], log=lambda m: None)
    a_file = tmp_path / "plain"
    a_file.write_text("")
    with pytest.raises(DataError, match="is a file where the data folder belongs"):
        ensure([SPEC], a_file, [("src", source)], log=lambda m: None)
    from lowtf.data.store import data_dir
    monkeypatch.setenv("LOWTF_DATA_DIR", str(a_file))
    with pytest.raises(DataError, match="LOWTF_DATA_DIR=.* is a file, not a folder"):
        data_dir()


def test_temporaries_of_a_killed_fetch_are_removed(tmp_path):
    import subprocess
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".f.{dead.pid}.tmp"
    stale.write_bytes(b"half a file")
    logs = []
    source, _ = serving(GOOD)
    ensure([SPEC], tmp_path, [("src", source)], log=logs.append)
    assert not stale.exists() and any("interrupted write" in line for line in logs)
    assert (tmp_path / "f").read_bytes() == GOOD
