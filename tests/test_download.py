"""The one download path (`workbook.download`) and its three users, against a loopback server.

Nothing here reaches the internet: `server` (tests/conftest.py) serves a temporary folder on
127.0.0.1, with ``/cut/...`` (connection lost half-way) and ``/slow/...`` (no answer in time).
"""

from __future__ import annotations

import hashlib

import pytest

from workbook import download as dl
from workbook import resources
from workbook.download import ChecksumError, DownloadError, DownloadsDisabledError, download
from workbook.resources import WeightsUnavailableError

PAYLOAD = b"pretend weights\n" * 5000  # 80 kB: more than one read block


def _serve(site, rel: str, data: bytes = PAYLOAD) -> None:
    (site / rel).parent.mkdir(parents=True, exist_ok=True)
    (site / rel).write_bytes(data)


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("sha256", hashlib.sha256(PAYLOAD).hexdigest()),
        ("md5", hashlib.md5(PAYLOAD).hexdigest()),
        ("git-blob-sha1", hashlib.sha1(b"blob %d\0" % len(PAYLOAD) + PAYLOAD).hexdigest()),
    ],
)
def test_download_checks_each_hash_algorithm(server, tmp_path, online, algorithm, expected):
    base, site, _ = server
    _serve(site, "w.bin")
    dest = tmp_path / "out" / "w.bin"

    assert download(f"{base}/w.bin", dest, expected, algorithm=algorithm, progress=False) == dest

    assert dest.read_bytes() == PAYLOAD
    assert dl.file_digest(dest, algorithm) == expected
    assert list((tmp_path / "out").iterdir()) == [dest]  # no temporary file left


def test_git_blob_sha1_is_gits_blob_id():
    # `printf 'hello\n' | git hash-object --stdin` and the empty blob, well-known ids
    assert dl.git_blob_sha1(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert dl.git_blob_sha1(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    streaming = dl._hasher("git-blob-sha1")  # size unknown (no Content-Length): buffered
    for part in (b"hel", b"lo\n"):
        streaming.update(part)
    assert streaming.hexdigest() == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_a_hash_mismatch_deletes_the_download_and_names_both_hashes(server, tmp_path, online):
    base, site, _ = server
    _serve(site, "w.bin")
    dest = tmp_path / "w.bin"
    dest.write_bytes(b"the old file")
    wanted = "0" * 32

    with pytest.raises(ChecksumError) as caught:
        download(f"{base}/w.bin", dest, wanted, algorithm="md5", progress=False)

    message = str(caught.value)
    assert f"expected md5 {wanted}" in message
    assert f"got      md5 {hashlib.md5(PAYLOAD).hexdigest()}" in message
    assert "deleted" in message and f"{base}/w.bin" in message
    assert dest.read_bytes() == b"the old file"  # the existing file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site", "w.bin"]


@pytest.mark.parametrize("variable", ["CI", "WORKBOOK_OFFLINE"])
def test_downloads_off_are_refused_before_any_request(
    server, tmp_path, monkeypatch, online, variable
):
    base, site, requests = server
    _serve(site, "w.bin")
    monkeypatch.setenv(variable, "1")

    with pytest.raises(DownloadsDisabledError, match=f"because {variable} is set"):
        download(f"{base}/w.bin", tmp_path / "w.bin", None, progress=False)

    assert requests == [] and not (tmp_path / "w.bin").exists()
    assert not resources.downloads_allowed()


def test_a_connection_lost_half_way_leaves_no_partial_file(server, tmp_path, online):
    base, site, requests = server
    _serve(site, "w.bin")

    with pytest.raises(DownloadError, match="the server announced"):
        download(f"{base}/cut/w.bin", tmp_path / "w.bin", None, progress=False)

    assert requests == ["/cut/w.bin"]
    assert list(tmp_path.iterdir()) == [tmp_path / "site"]


def test_an_interrupted_download_leaves_no_partial_file(server, tmp_path, online):
    base, site, _ = server
    _serve(site, "w.bin")
    seen = []

    def interrupt(done, total):
        seen.append((done, total))
        raise KeyboardInterrupt  # Ctrl-C after the first block

    with pytest.raises(KeyboardInterrupt):
        download(f"{base}/w.bin", tmp_path / "out/w.bin", None, progress=interrupt)

    assert seen[0][1] == len(PAYLOAD) and seen[0][0] < len(PAYLOAD)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_server_that_does_not_answer_times_out(server, tmp_path, online):
    base, site, _ = server
    _serve(site, "w.bin")

    with pytest.raises(DownloadError, match="timed out"):
        download(f"{base}/slow/w.bin", tmp_path / "w.bin", None, progress=False, timeout=0.3)

    assert not (tmp_path / "w.bin").exists()


def test_mirrors_are_tried_in_order_and_each_failure_is_named(server, tmp_path, online):
    base, site, requests = server
    _serve(site, "w.bin")
    sha = hashlib.sha256(PAYLOAD).hexdigest()

    download([f"{base}/gone.bin", f"{base}/w.bin"], tmp_path / "a.bin", sha, progress=False)
    with pytest.raises(DownloadError) as caught:
        download([f"{base}/x.bin", f"{base}/y.bin"], tmp_path / "b.bin", sha, progress=False)

    assert requests[:2] == ["/gone.bin", "/w.bin"]
    assert "/x.bin" in str(caught.value) and "/y.bin" in str(caught.value)
    assert (tmp_path / "a.bin").read_bytes() == PAYLOAD and not (tmp_path / "b.bin").exists()


def test_progress_is_one_line_per_step_with_the_label(server, tmp_path, online, capsys):
    base, site, _ = server
    _serve(site, "w.bin")

    download(f"{base}/w.bin", tmp_path / "w.bin", None, label="vgg")

    err = capsys.readouterr().err
    assert "vgg: 0.1/0.1 MB (100%)" in err


def test_an_unknown_algorithm_is_refused_before_any_request(server, tmp_path, online):
    base, _, requests = server
    with pytest.raises(ValueError, match="sha256, md5, git-blob-sha1"):
        download(f"{base}/w.bin", tmp_path / "w.bin", "x", algorithm="crc32", progress=False)
    assert requests == []


# --------------------------------------------------------------------------------------------
# Its users: fetch_data (tests/test_fetch_data.py), URL weights such as ImageNet VGG-19
# (tests/test_resources.py) and the OpenFace CSV files (here)
# --------------------------------------------------------------------------------------------


def test_openface_csv_files_download_through_the_same_path(server, tmp_path, monkeypatch, online):
    from fr_utils.models.openface import download_openface_csv

    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path / "cache"))
    base, site, requests = server
    files = {"a_w.csv": b"1,2\n", "a_b.csv": b"3\n"}
    for name, data in files.items():
        _serve(site, f"weights/{name}", data)
    entry = dict(
        resources.weights_entry("openface_nn4_small2_v1"),
        base_url=f"{base}/weights/",
        files={name: dl.git_blob_sha1(data) for name, data in files.items()},
    )
    monkeypatch.setattr(resources, "weights_entry", lambda name: entry)

    folder = download_openface_csv()
    download_openface_csv()  # verified files are not fetched again

    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files
    assert sorted(requests) == ["/weights/a_b.csv", "/weights/a_w.csv"]
    (site / "weights/a_b.csv").write_bytes(b"4\n")  # upstream changed
    (folder / "a_b.csv").unlink()
    with pytest.raises(WeightsUnavailableError, match="Checksum mismatch"):
        download_openface_csv()
    assert not (folder / "a_b.csv").exists()
