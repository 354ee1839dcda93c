"""Tests of `workbook.fetch_data` (``make data``): all offline.

Downloads are served by a threaded HTTP server on 127.0.0.1 from a small fake artefact set; the
``--verify`` and processing tests use the real course data found by `workbook.data_path`.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workbook import fetch_data
from workbook.resources import data_roots, file_digest

# The loopback server (`server`) and the `online` environment come from tests/conftest.py.
pytestmark = pytest.mark.usefixtures("online")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _jpeg(color, size) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _tgz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# A fake artefact set that exercises every process and step
# --------------------------------------------------------------------------------------------

PEOPLE = "2\n2\nAnn\t2\nBob\t1\n1\nCid\t2\n"  # set 2 (Cid) is withheld
PAIRS = "1\t1\nAnn\t1\t2\nAnn\t1\tBob\t1\n"  # one genuine pair, one impostor pair
PAIRS_CID = "1\nCid\t1\t2\nAnn\t2\tCid\t1\n"  # both pairs touch the withheld person
IMAGES = {
    "Ann/Ann_0001.jpg": _jpeg("red", (8, 8)),
    "Ann/Ann_0002.jpg": _jpeg("green", (8, 8)),
    "Bob/Bob_0001.jpg": _jpeg("blue", (8, 8)),
    "Cid/Cid_0001.jpg": _jpeg("white", (8, 8)),
    "Cid/Cid_0002.jpg": _jpeg("black", (8, 8)),
}
KEPT = {k: v for k, v in IMAGES.items() if not k.startswith("Cid")}
REPS = b"0.1,0.2\r0.3,0.4\r0.5,0.6"
LABELS = b"1,x/Ann/Ann_0001.png\r2,x/Cid/Cid_0001.png\r3,x/Bob/Bob_0001.png"


def _big_png() -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (600, 1500, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def _encoded(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _samples() -> dict[str, bytes]:
    """Three fake ImageNet sources: wide, tall greyscale (a name with an apostrophe), tiny."""
    wide = Image.new("RGB", (96, 32), "red")
    wide.paste((0, 0, 255), (32, 0, 64, 32))  # only the middle third is blue
    tall = Image.new("L", (40, 80), 0)
    tall.paste(255, (0, 20, 40, 60))  # only the middle half is white
    return {
        "n00000001_wide.JPEG": _encoded(wide),
        "n00000002_tall's_grey.JPEG": _encoded(tall),
        "n00000003_tiny.JPEG": _encoded(Image.new("RGB", (20, 10), "green")),
    }


SAMPLES = _samples()
SAMPLE_SIZE = 32


def _documented_recipe(data: bytes, size: int = SAMPLE_SIZE, quality: int = 90) -> bytes:
    """The processing exactly as imagenet_samples/SOURCES.md words it (written independently)."""
    im = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = im.size
    s = size / min(w, h)
    im = im.resize((max(size, round(w * s)), max(size, round(h * s))), Image.LANCZOS)
    W, H = im.size  # noqa: N806 (the document's names)
    left, top = (W - size) // 2, (H - size) // 2
    buffer = io.BytesIO()
    im.crop((left, top, left + size, top + size)).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


SAMPLE_OUTPUTS = {k.replace(".JPEG", ".jpg"): _documented_recipe(v) for k, v in SAMPLES.items()}
SAMPLE_CLASSES = (
    b"wnid,label,file\r\n"
    b"n00000001,wide,n00000001_wide.jpg\r\n"
    b"n00000002,tall's_grey,n00000002_tall's_grey.jpg\r\n"
    b"n00000003,tiny,n00000003_tiny.jpg\r\n"
)
SAMPLE_UPSCALED = (
    b"# Sources shorter than 32 px on their shorter side (upscaled, soft); names as in the"
    b" source repository\nn00000003_tiny.JPEG\n"
)


def _tree_lines(files: dict[str, bytes]) -> str:
    text = "".join(f"{k} {_sha(v)}\n" for k, v in sorted(files.items()))
    return _sha(text.encode())


def _make_site(site: Path, base: str) -> dict:
    """Write the fake artefacts under ``site`` and return a manifest that points at them."""
    blobs = {
        "text/hello.txt": b"hello, data\n",
        "lfw/people.txt": PEOPLE.encode(),
        "lfw/pairs.txt": PAIRS.encode(),
        "lfw/pairsDevTest.txt": PAIRS_CID.encode(),
        "lfw/lfw-deepfunneled.tgz": _tgz({f"lfw-deepfunneled/{k}": v for k, v in IMAGES.items()}),
        "openface/reps.csv": REPS,
        "openface/labels.csv": LABELS,
        "img/wide.png": _big_png(),
        "subset/P/P_0001.jpg": IMAGES["Ann/Ann_0001.jpg"],
        "lists/names.list": b"tench\ngoldfish\nshark\n",
        **{f"imagenet/{k}": v for k, v in SAMPLES.items()},
    }
    for rel, data in blobs.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)

    def dl(rel, dest, group, **extra):
        entry = {"url": f"{base}/{rel}", "sha256": _sha(blobs[rel]), "dest": dest, "group": group}
        return {**entry, **extra}

    pairs_csv = (
        b"split,fold,path_a,path_b,same\r\n"
        b"view2,1,Ann/Ann_0001.jpg,Ann/Ann_0002.jpg,1\r\n"
        b"view2,1,Ann/Ann_0001.jpg,Bob/Bob_0001.jpg,0\r\n"
    )
    return {
        "download": {
            "hello": dl("text/hello.txt", "misc/hello.txt", "misc"),
            "lfw_people": dl("lfw/people.txt", "faces/lfw/people.txt", "faces/lfw"),
            "lfw_pairs": dl("lfw/pairs.txt", "faces/lfw/pairs.txt", "faces/lfw"),
            "lfw_pairs_dev_test": dl(
                "lfw/pairsDevTest.txt", "faces/lfw/pairsDevTest.txt", "faces/lfw"
            ),
            "lfw_deepfunneled": {
                "urls": [f"{base}/missing.tgz", f"{base}/lfw/lfw-deepfunneled.tgz"],
                "dest": "faces/lfw",
                "group": "faces/lfw",
                "process": "lfw_archive",
                "withhold_people_set": 2,
                "needs": ["lfw_people"],
            },
            "openface_reps": dl("openface/reps.csv", ".downloads/reps.csv", "openface"),
            "openface_labels": dl("openface/labels.csv", ".downloads/labels.csv", "openface"),
            "wide": dl("img/wide.png", "photos/wide.jpg", "photos", process="image_1024"),
            "subset": {
                "base_url": f"{base}/subset",
                "files": {"P/P_0001.jpg": _sha(blobs["subset/P/P_0001.jpg"])},
                "dest": "faces/subset",
                "group": "subset",
                "process": "files",
            },
            "names_list": dl("lists/names.list", ".downloads/lists/names.list", "nets"),
            "samples": {
                "base_url": f"{base}/imagenet",
                "files": {k: _sha(v) for k, v in SAMPLES.items()},
                "dest": "samples",
                "group": "samples",
                "process": "square_images",
                "size": SAMPLE_SIZE,
                "quality": 90,
                "suffix": ".jpg",
                "upscaled_file": "UPSCALED.txt",
                "outputs": ["samples", "samples/UPSCALED.txt"],
            },
        },
        "step": {
            "pairs_available": {
                "group": "faces/lfw",
                "run": "pairs_available",
                "folder": "faces/lfw",
                "splits": {"view2": "pairs.txt", "devtest": "pairsDevTest.txt"},
                "needs": ["lfw_pairs", "lfw_pairs_dev_test", "lfw_deepfunneled"],
                "outputs": ["faces/lfw/pairs_available.csv"],
            },
            "openface": {
                "group": "openface",
                "run": "openface_without_set5",
                "inputs": [".downloads/reps.csv", ".downloads/labels.csv", "faces/lfw/people.txt"],
                "withhold_people_set": 2,
                "needs": ["openface_reps", "openface_labels", "lfw_people"],
                "outputs": [
                    "faces/openface_reference/reps.csv",
                    "faces/openface_reference/labels.csv",
                ],
            },
            "names_head": {
                "group": "nets",
                "run": "first_lines",
                "lines": 2,
                "inputs": [".downloads/lists/names.list"],
                "needs": ["names_list"],
                "outputs": ["pretrained/net/names.txt"],
            },
            "samples_classes": {
                "group": "samples",
                "run": "wnid_classes",
                "folder": "samples",
                "include": "*.jpg",
                "needs": ["samples"],
                "outputs": ["samples/classes.csv"],
            },
            "samples_manifest": {
                "group": "samples",
                "run": "sha256sum",
                "folder": "samples",
                "include": "*.jpg",
                "needs": ["samples"],
                "outputs": ["samples/MANIFEST.sha256"],
            },
        },
        "final": {
            "misc/hello.txt": _sha(blobs["text/hello.txt"]),
            "faces/lfw/pairs_available.csv": _sha(pairs_csv),
            "faces/openface_reference/reps.csv": _sha(b"0.1,0.2\n0.5,0.6\n"),
            "faces/openface_reference/labels.csv": _sha(
                b"1,x/Ann/Ann_0001.png\n3,x/Bob/Bob_0001.png\n"
            ),
            "pretrained/net/names.txt": _sha(b"tench\ngoldfish\n"),
            "samples/classes.csv": _sha(SAMPLE_CLASSES),
            "samples/UPSCALED.txt": _sha(SAMPLE_UPSCALED),
            "samples/MANIFEST.sha256": _sha(
                "".join(f"{_sha(v)}  {k}\n" for k, v in sorted(SAMPLE_OUTPUTS.items())).encode()
            ),
        },
        "tree": {
            "faces/lfw": {"include": "*/*.jpg", "count": len(KEPT), "sha256": _tree_lines(KEPT)},
            "faces/subset": {
                "include": "*/*.jpg",
                "count": 1,
                "sha256": _tree_lines({"P/P_0001.jpg": blobs["subset/P/P_0001.jpg"]}),
            },
            "samples": {
                "include": "*.jpg",
                "count": len(SAMPLE_OUTPUTS),
                "sha256": _tree_lines(SAMPLE_OUTPUTS),
            },
        },
    }


def _leftovers(folder: Path) -> list[str]:
    """Temporary files of `workbook.atomic` (``.<random>.tmp.<name>``) and staging folders."""
    return [p.name for p in folder.rglob("*") if ".tmp." in p.name or ".unpack." in p.name]


# --------------------------------------------------------------------------------------------
# Fetch
# --------------------------------------------------------------------------------------------


def test_fetch_downloads_checks_and_processes_everything(server, tmp_path):
    base, site, requests = server
    manifest = _make_site(site, base)
    data = tmp_path / "data"

    warnings = fetch_data.fetch(data, manifest, progress=False)

    assert warnings == []
    assert fetch_data.verify_data(data, manifest) == []
    assert (data / "misc/hello.txt").read_bytes() == b"hello, data\n"
    # LFW: the archive's top folder is stripped, the withheld set is gone, the rest is intact.
    assert sorted(p.name for p in (data / "faces/lfw").iterdir() if p.is_dir()) == ["Ann", "Bob"]
    assert (data / "faces/lfw/Bob/Bob_0001.jpg").read_bytes() == IMAGES["Bob/Bob_0001.jpg"]
    # The first archive URL was a 404; the mirror after it was used.
    assert "/missing.tgz" in requests and "/lfw/lfw-deepfunneled.tgz" in requests
    # Only pairs with both images present are indexed; devtest pairs touch Cid only.
    assert (data / "faces/lfw/pairs_available.csv").read_text().splitlines()[1:] == [
        "view2,1,Ann/Ann_0001.jpg,Ann/Ann_0002.jpg,1",
        "view2,1,Ann/Ann_0001.jpg,Bob/Bob_0001.jpg,0",
    ]
    assert (data / "faces/openface_reference/labels.csv").read_bytes().count(b"\r") == 0
    # A PNG of 1500x600 becomes a JPEG with a long side of 1024 px.
    with Image.open(data / "photos/wide.jpg") as image:
        assert (image.format, image.size) == ("JPEG", (1024, 410))
    assert (data / "faces/subset/P/P_0001.jpg").is_file()
    assert (data / "pretrained/net/names.txt").read_bytes() == b"tench\ngoldfish\n"
    assert _leftovers(data) == []


def test_square_images_are_the_centre_of_each_source_at_the_documented_size(server, tmp_path):
    base, site, requests = server
    manifest = _make_site(site, base)
    data = tmp_path / "data"

    fetch_data.fetch(data, manifest, only=["samples"], progress=False)

    assert fetch_data.verify_data(data, manifest, only=["samples"]) == []
    for name in SAMPLE_OUTPUTS:
        with Image.open(data / "samples" / name) as image:
            assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (32, 32))
    # The centre third of the wide red|blue|red source, the middle half of the tall grey one
    # (exact geometry: the tree digest above; JPEG blurs colour edges by a few levels).
    wide = np.asarray(Image.open(data / "samples/n00000001_wide.jpg"), np.float32)
    np.testing.assert_allclose(wide.mean(axis=(0, 1)), [0, 0, 255], atol=12)
    tall = np.asarray(Image.open(data / "samples/n00000002_tall's_grey.jpg"), np.float32)
    np.testing.assert_allclose(tall.mean(axis=(0, 1)), [255, 255, 255], atol=12)
    assert (data / "samples/UPSCALED.txt").read_bytes() == SAMPLE_UPSCALED
    assert (data / "samples/classes.csv").read_bytes() == SAMPLE_CLASSES
    # Names are percent-encoded in URLs; the sources are deleted once the images are made.
    assert "/imagenet/n00000002_tall%27s_grey.JPEG" in requests
    assert not (data / ".downloads/samples").exists()


def test_a_changed_source_image_is_rejected_before_any_image_is_made(server, tmp_path):
    base, site, _ = server
    manifest = _make_site(site, base)
    (site / "imagenet/n00000003_tiny.JPEG").write_bytes(_encoded(Image.new("RGB", (20, 10))))

    with pytest.raises(fetch_data.ChecksumError, match="n00000003_tiny.JPEG"):
        fetch_data.fetch(tmp_path / "data", manifest, only=["samples"], progress=False)

    assert not (tmp_path / "data/samples").exists()


def test_an_interrupted_image_download_resumes_with_the_missing_sources(server, tmp_path):
    base, site, requests = server
    manifest = _make_site(site, base)
    raw = tmp_path / "data/.downloads/samples"
    raw.mkdir(parents=True)
    (raw / "n00000001_wide.JPEG").write_bytes(SAMPLES["n00000001_wide.JPEG"])  # verified: kept
    (raw / "n00000003_tiny.JPEG").write_bytes(b"half a file")  # wrong hash: fetched again

    fetch_data.fetch(tmp_path / "data", manifest, only=["samples"], progress=False)

    assert sorted(requests) == [
        "/imagenet/n00000002_tall%27s_grey.JPEG",
        "/imagenet/n00000003_tiny.JPEG",
    ]
    assert fetch_data.verify_data(tmp_path / "data", manifest, only=["samples"]) == []


def test_images_resized_differently_are_kept_reported_and_not_made_again(server, tmp_path):
    base, site, requests = server
    manifest = _make_site(site, base)
    manifest["tree"]["samples"]["sha256"] = "0" * 64  # as if the course copy used another Pillow
    data = tmp_path / "data"

    warnings = fetch_data.fetch(data, manifest, only=["samples"], progress=False)
    requests.clear()
    again = fetch_data.fetch(data, manifest, only=["samples"], progress=False)

    assert len(warnings) == 1 and warnings[0].startswith("samples/ differs from the course copy")
    assert "Pillow" in warnings[0]
    assert (again, requests) == ([], [])
    problems = fetch_data.verify_data(data, manifest, only=["samples"])
    assert len(problems) == 1 and problems[0].startswith("changed   samples/")


def test_a_square_images_entry_without_files_is_refused(tmp_path):
    (tmp_path / "m.toml").write_text(
        '[download.x]\ngroup = "g"\ndest = "d"\nbase_url = "http://h"\nprocess = "square_images"\n'
    )
    with pytest.raises(ValueError, match="files table"):
        fetch_data.load_manifest(tmp_path / "m.toml")


def test_fetch_skips_artefacts_already_present_and_verified(server, tmp_path):
    base, site, requests = server
    manifest = _make_site(site, base)
    fetch_data.fetch(tmp_path / "data", manifest, progress=False)
    requests.clear()

    fetch_data.fetch(tmp_path / "data", manifest, progress=False)

    assert requests == []


def test_fetch_replaces_a_present_file_with_the_wrong_hash(server, tmp_path):
    base, site, requests = server
    manifest = _make_site(site, base)
    (tmp_path / "data/misc").mkdir(parents=True)
    (tmp_path / "data/misc/hello.txt").write_text("stale")

    fetch_data.fetch(tmp_path / "data", manifest, only=["hello"], progress=False)

    assert requests == ["/text/hello.txt"]
    assert (tmp_path / "data/misc/hello.txt").read_bytes() == b"hello, data\n"


def test_only_pulls_in_what_a_step_needs(server, tmp_path):
    base, site, requests = server
    manifest = _make_site(site, base)

    fetch_data.fetch(tmp_path / "data", manifest, only=["openface"], progress=False)

    assert (tmp_path / "data/faces/openface_reference/reps.csv").read_bytes() == (
        b"0.1,0.2\n0.5,0.6\n"
    )
    assert not (tmp_path / "data/faces/lfw/Ann").exists()  # the images were not needed
    assert not (tmp_path / "data/misc").exists()


def test_only_rejects_unknown_names_listing_the_choices(server, tmp_path):
    base, site, _ = server
    with pytest.raises(KeyError, match="faces/lfw"):
        fetch_data.fetch(tmp_path / "d", _make_site(site, base), only=["nope"], progress=False)


def test_corrupted_download_is_rejected_and_leaves_nothing(server, tmp_path):
    base, site, _ = server
    manifest = _make_site(site, base)
    (site / "text/hello.txt").write_bytes(b"hello, dat4\n")  # one byte changed on the server
    data = tmp_path / "data"

    with pytest.raises(fetch_data.ChecksumError) as caught:
        fetch_data.fetch(data, manifest, only=["hello"], progress=False)

    message = str(caught.value)
    assert "hello" in message
    assert manifest["download"]["hello"]["sha256"] in message
    assert _sha(b"hello, dat4\n") in message
    assert list((data / "misc").iterdir()) == []


def test_corrupted_image_is_rejected_before_processing(server, tmp_path):
    base, site, _ = server
    manifest = _make_site(site, base)
    (site / "img/wide.png").write_bytes(_big_png()[:-10])  # truncated on the server

    with pytest.raises(fetch_data.ChecksumError):
        fetch_data.fetch(tmp_path / "data", manifest, only=["wide"], progress=False)

    assert list((tmp_path / "data/photos").iterdir()) == []


def test_an_archive_that_does_not_match_the_tree_digest_changes_nothing(server, tmp_path):
    base, site, _ = server
    manifest = _make_site(site, base)
    tampered = {**IMAGES, "Bob/Bob_0001.jpg": _jpeg("yellow", (8, 8))}
    (site / "lfw/lfw-deepfunneled.tgz").write_bytes(
        _tgz({f"lfw-deepfunneled/{k}": v for k, v in tampered.items()})
    )
    data = tmp_path / "data"

    with pytest.raises(fetch_data.ChecksumError, match="Tree digest mismatch"):
        fetch_data.fetch(data, manifest, only=["lfw_deepfunneled"], progress=False)

    assert sorted(p.name for p in (data / "faces/lfw").iterdir()) == ["people.txt"]


def test_all_urls_failing_names_each_url(server, tmp_path):
    base, _, _ = server
    dest = tmp_path / "out" / "x.bin"
    with pytest.raises(fetch_data.DownloadError) as caught:
        fetch_data.download([f"{base}/a.bin", f"{base}/b.bin"], dest, "0" * 64, progress=False)
    assert "/a.bin" in str(caught.value) and "/b.bin" in str(caught.value)
    assert list(dest.parent.iterdir()) == []


def test_fetch_refuses_to_run_in_ci(server, tmp_path, monkeypatch, capsys):
    base, site, requests = server
    manifest = _make_site(site, base)
    monkeypatch.setenv("CI", "true")

    with pytest.raises(RuntimeError, match="CI"):
        fetch_data.fetch(tmp_path / "data", manifest, progress=False)
    assert fetch_data.main(["--root", str(tmp_path)]) == 2

    assert "CI" in capsys.readouterr().err
    assert requests == []
    assert not (tmp_path / "data").exists()


# --------------------------------------------------------------------------------------------
# Safe extraction
# --------------------------------------------------------------------------------------------


def test_tar_with_path_traversal_is_rejected(tmp_path):
    archive = tmp_path / "evil.tgz"
    archive.write_bytes(_tgz({"ok/fine.txt": b"fine", "../escaped.txt": b"gotcha"}))

    with pytest.raises(fetch_data.UnsafeArchiveError, match="escaped.txt"):
        fetch_data.safe_extract(archive, tmp_path / "out")

    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "out/ok").exists()  # nothing is extracted when one member is bad


@pytest.mark.parametrize("name", ["/etc/evil.txt", "a/../../evil.txt"])
def test_tar_with_absolute_or_dotdot_member_is_rejected(tmp_path, name):
    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(_tgz({name: b"x"}))
    with pytest.raises(fetch_data.UnsafeArchiveError):
        fetch_data.safe_extract(archive, tmp_path / "out")


def test_tar_with_a_symlink_is_rejected(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        link = tarfile.TarInfo("lfw/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
    (tmp_path / "link.tgz").write_bytes(buffer.getvalue())
    with pytest.raises(fetch_data.UnsafeArchiveError, match="link"):
        fetch_data.safe_extract(tmp_path / "link.tgz", tmp_path / "out")


def test_zip_with_path_traversal_is_rejected(tmp_path):
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("../escaped.txt", b"gotcha")
    with pytest.raises(fetch_data.UnsafeArchiveError):
        fetch_data.safe_extract(tmp_path / "evil.zip", tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


def test_safe_extract_unpacks_a_good_zip(tmp_path):
    with zipfile.ZipFile(tmp_path / "good.zip", "w") as zf:
        zf.writestr("top/A/A_0001.jpg", b"jpeg")
    fetch_data.safe_extract(tmp_path / "good.zip", tmp_path / "out")
    assert (tmp_path / "out/top/A/A_0001.jpg").read_bytes() == b"jpeg"


# --------------------------------------------------------------------------------------------
# The real manifest and the real course data (offline)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_data() -> Path:
    root = fetch_data.default_data_dir(fetch_data.load_manifest())
    if not (root / "ecg").is_dir():
        pytest.skip(f"the course data is not on this machine (looked in {data_roots()})")
    return root


def test_tree_digest_is_the_sha256_of_sorted_path_hash_lines(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "b/2.jpg").write_bytes(b"two")
    (tmp_path / "a/1.jpg").write_bytes(b"one")
    (tmp_path / "top.txt").write_bytes(b"not included")
    expected = _sha(f"a/1.jpg {_sha(b'one')}\nb/2.jpg {_sha(b'two')}\n".encode())
    assert fetch_data.tree_digest(tmp_path, "*/*.jpg") == (2, expected)


def test_real_manifest_is_consistent():
    manifest = fetch_data.load_manifest()
    produced = set()
    for table in (manifest["download"], manifest["step"]):
        for entry in table.values():
            produced.update(fetch_data._outputs(entry))
            assert set(entry.get("needs", [])) <= set(manifest["download"]) | set(manifest["step"])
    assert set(manifest["final"]) <= produced
    assert set(manifest["tree"]) <= produced
    for name, entry in manifest["download"].items():
        for url in fetch_data._urls(entry) if "base_url" not in entry else [entry["base_url"]]:
            assert url.startswith(
                (
                    "https://raw.githubusercontent.com/",
                    "http://vis-www.cs.umass.edu/",
                    "https://umass-vis-lfw.github.io/",
                    "package://",
                )
            ), name


def test_verify_passes_on_the_real_course_data(shared_data, capsys):
    assert fetch_data.main(["--verify", "--root", str(shared_data.parent)]) == 0
    assert "0 problem(s)" in capsys.readouterr().out


def test_verify_finds_one_changed_byte_in_a_file(shared_data, tmp_path, capsys):
    copy = tmp_path / "data"
    shutil.copytree(shared_data / "volumes", copy / "volumes")
    target = copy / "volumes/anatomical.nii"
    target.chmod(0o644)
    blob = bytearray(target.read_bytes())
    blob[1000] ^= 0x01
    target.write_bytes(bytes(blob))
    manifest = fetch_data.load_manifest()

    assert fetch_data.verify_data(copy, manifest, only=["volumes"]) == [
        f"changed   volumes/anatomical.nii: sha256 {_sha(bytes(blob))},"
        f" expected {manifest['final']['volumes/anatomical.nii']}"
    ]
    assert fetch_data.main(["--verify", "--root", str(tmp_path), "--only", "volumes"]) == 1
    assert "anatomical.nii" in capsys.readouterr().out


def test_verify_finds_one_changed_byte_in_a_tree(shared_data, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(shared_data / "faces/lfw_original_subset", copy / "faces/lfw_original_subset")
    manifest = fetch_data.load_manifest()
    assert fetch_data.verify_data(copy, manifest, only=["faces/lfw_original_subset"]) == []

    target = copy / "faces/lfw_original_subset/Tony_Blair/Tony_Blair_0001.jpg"
    target.chmod(0o644)
    blob = bytearray(target.read_bytes())
    blob[-3] ^= 0xFF
    target.write_bytes(bytes(blob))

    problems = fetch_data.verify_data(copy, manifest, only=["faces/lfw_original_subset"])
    assert len(problems) == 1 and "faces/lfw_original_subset/" in problems[0]


def test_verify_reports_missing_files(tmp_path):
    problems = fetch_data.verify_data(tmp_path, fetch_data.load_manifest(), only=["ecg"])
    assert "missing   ecg/mitdb_208.npz" in problems and len(problems) == 9


@pytest.mark.parametrize("record", ["100", "208"])
def test_mitdb_npz_step_rebuilds_the_course_file_byte_for_byte(shared_data, tmp_path, record):
    (tmp_path / "ecg").mkdir()
    for suffix in ("dat", "hea", "atr"):
        shutil.copy(shared_data / f"ecg/{record}.{suffix}", tmp_path / "ecg")
    step = fetch_data.load_manifest()["step"][f"mitdb_{record}"]

    fetch_data.STEPS[step["run"]](tmp_path, step)

    out = step["outputs"][0]
    assert file_digest(tmp_path / out) == file_digest(shared_data / out)


def test_pairs_available_step_rebuilds_the_course_index(shared_data, tmp_path):
    step = dict(fetch_data.load_manifest()["step"]["lfw_pairs_available"])
    step["outputs"] = ["pairs_available.csv"]
    (tmp_path / "faces").mkdir()
    (tmp_path / "faces/lfw").symlink_to(shared_data / "faces/lfw")

    fetch_data.STEPS[step["run"]](tmp_path, step)

    assert file_digest(tmp_path / "pairs_available.csv") == file_digest(
        shared_data / "faces/lfw/pairs_available.csv"
    )


def test_imagenet_steps_rebuild_classes_and_manifest_byte_for_byte(shared_data, tmp_path):
    manifest = fetch_data.load_manifest()
    (tmp_path / "imagenet_samples").mkdir()
    for image in (shared_data / "imagenet_samples").glob("*.jpg"):
        (tmp_path / "imagenet_samples" / image.name).symlink_to(image)

    for name in ("imagenet_classes", "imagenet_manifest"):
        step = manifest["step"][name]
        fetch_data.STEPS[step["run"]](tmp_path, step)
        out = step["outputs"][0]
        assert (
            file_digest(tmp_path / out)
            == file_digest(shared_data / out)
            == (manifest["final"][out])
        )


def test_imagenet_sources_match_the_course_images_one_to_one(shared_data):
    entry = fetch_data.load_manifest()["download"]["imagenet_samples"]
    made = {name.replace(".JPEG", ".jpg") for name in entry["files"]}
    assert made == {p.name for p in (shared_data / "imagenet_samples").glob("*.jpg")}
    upscaled = (shared_data / "imagenet_samples/UPSCALED.txt").read_text().splitlines()[1:]
    assert len(made) == 1000 and len(upscaled) == 97 and set(upscaled) <= set(entry["files"])


def test_a_differently_encoded_output_is_kept_reported_and_not_fetched_again(server, tmp_path):
    base, site, requests = server
    manifest = _make_site(site, base)
    manifest["final"]["photos/wide.jpg"] = "0" * 64  # as if the course copy used another libjpeg
    data = tmp_path / "data"

    warnings = fetch_data.fetch(data, manifest, only=["wide"], progress=False)
    requests.clear()
    again = fetch_data.fetch(data, manifest, only=["wide"], progress=False)

    assert len(warnings) == 1 and "photos/wide.jpg differs from the course copy" in warnings[0]
    assert (again, requests) == ([], [])
    assert fetch_data.verify_data(data, manifest, only=["wide"])[0].startswith(
        "changed   photos/wide.jpg"
    )


def test_lfw_images_come_one_by_one_when_no_archive_url_works(server, tmp_path):
    base, site, requests = server
    manifest = _make_site(site, base)
    for rel, data in IMAGES.items():
        (site / "images" / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / "images" / rel).write_bytes(data)
    entry = manifest["download"]["lfw_deepfunneled"]
    entry["urls"] = [f"{base}/missing.tgz"]
    entry["file_base_url"] = f"{base}/images"
    data = tmp_path / "data"

    fetch_data.fetch(data, manifest, only=["lfw_deepfunneled"], progress=False)

    assert fetch_data.verify_data(data, manifest, only=["lfw_deepfunneled"]) == []
    assert not any("Cid" in r for r in requests)  # the withheld people are never downloaded
