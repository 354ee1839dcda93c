"""The data and weights resolver (workbook.resources)."""

import hashlib
import inspect
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


# URL weights (ImageNet VGG-19): `workbook.download` against a loopback server (tests/conftest.py)

VGG = "vgg19_imagenet_notop"
PAYLOAD = b"pretend weights"


@pytest.fixture
def caches(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path


def _local_vgg(monkeypatch, server, payload: bytes = PAYLOAD) -> Path:
    """Serve ``payload`` under VGG-19's file name; point the entry at it with ``payload``'s md5."""
    base, site, _ = server
    entry = resources.weights_entry(VGG)
    fname = entry["url"].rsplit("/", 1)[-1]
    (site / fname).write_bytes(PAYLOAD)
    local = dict(entry, url=f"{base}/{fname}", hash=hashlib.md5(payload).hexdigest())
    monkeypatch.setitem(resources._manifest(), VGG, local)
    return Path(fname)


def test_vgg19_entry_is_keras_own_download():
    from keras.src.applications import vgg19

    entry = resources.weights_entry(VGG)
    assert entry["url"] == vgg19.WEIGHTS_PATH_NO_TOP
    assert (entry["hash_algorithm"], entry["cache_subdir"]) == ("md5", "models")
    assert f'file_hash="{entry["hash"]}"' in inspect.getsource(vgg19)


@pytest.mark.parametrize("variable", ["CI", "WORKBOOK_OFFLINE"])
def test_url_weights_never_download_in_ci_or_offline(server, caches, monkeypatch, online, variable):
    _local_vgg(monkeypatch, server)
    monkeypatch.setenv(variable, "1")
    with pytest.raises(WeightsUnavailableError, match="downloads are off"):
        weights_path(VGG)
    assert server[2] == []


def test_url_weights_download_once_into_the_cache(server, caches, monkeypatch, online):
    fname = _local_vgg(monkeypatch, server)

    path = weights_path(VGG)
    again = weights_path(VGG)

    assert path == again == caches / "cache/models" / fname
    assert path.read_bytes() == PAYLOAD and server[2] == [f"/{fname}"]


def test_url_weights_read_an_existing_keras_cache_file(server, caches, monkeypatch, online):
    keras_file = caches / "keras/models" / _local_vgg(monkeypatch, server)
    keras_file.parent.mkdir(parents=True)
    keras_file.write_bytes(PAYLOAD)

    assert weights_path(VGG) == keras_file and server[2] == []


def test_url_weights_with_a_wrong_hash_are_not_kept(server, caches, monkeypatch, online):
    fname = _local_vgg(monkeypatch, server, payload=b"the real weights")  # serves PAYLOAD

    with pytest.raises(WeightsUnavailableError, match="Checksum mismatch"):
        weights_path(VGG)

    assert not (caches / "cache/models" / fname).exists()


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
