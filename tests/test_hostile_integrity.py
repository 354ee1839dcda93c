"""Issue 15, "code and data integrity": no code from stray files, no unverified caches.

* MTCNN's weights are joblib pickles; `mtcnn` itself reads ``pnet.lz4`` etc. from the working
  directory first. `fr_utils.detection.get_detector` reads them only from the installed
  package, checks their SHA-256 against ``weights/manifest.toml`` and unpickles only the bytes
  it hashed.
* Caches of converted weights (and the LFW crops cache) carry a seal with their SHA-256
  (`workbook.resources.seal_cache`); a cache replaced by other valid data is rebuilt.
"""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest
from PIL import Image

from fr_utils import detection
from workbook import data_path, resources
from workbook.images import load_image
from workbook.resources import WeightsUnavailableError, is_sealed, seal_cache

OBAMA = data_path("faces/public_domain/Barack_Obama/obama_official_portrait_2012.jpg")


class _Payload:
    """Unpickling this creates the file ``marker``: proof that someone unpickled it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def _bait(folder, marker):
    """Hostile ``pnet.lz4``, ``rnet.lz4`` and ``onet.lz4`` in ``folder``."""
    for name in ("pnet", "rnet", "onet"):
        (folder / f"{name}.lz4").write_bytes(pickle.dumps(_Payload(marker)))


def test_the_bait_is_live(tmp_path):
    """The hostile files do run code when unpickled (so the next test can fail)."""
    import joblib

    marker = tmp_path / "owned"
    _bait(tmp_path, marker)
    joblib.load(tmp_path / "pnet.lz4")
    assert marker.exists()


@pytest.mark.slow
def test_a_stray_pnet_lz4_in_the_working_directory_is_never_read(tmp_path, monkeypatch):
    marker = tmp_path / "owned"
    _bait(tmp_path, marker)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(detection, "_detector", None)  # build a fresh detector here
    detector = detection.get_detector()
    assert not marker.exists(), "a pickle from the working directory was unpickled"
    for stage in detector.stages:  # the package's own weights, nothing from the cwd
        name = f"mtcnn_{stage.name.split()[-1].lower()}"
        assert resources.weights_path(name).is_absolute()
    faces = detection.detect_faces(load_image(OBAMA))
    assert faces and faces[0].confidence > 0.9
    assert not marker.exists()


def test_mtcnn_weights_are_hashed_before_they_are_unpickled(tmp_path, monkeypatch):
    """A package file swapped after `weights_path` checked it is still never unpickled."""
    marker = tmp_path / "owned"
    _bait(tmp_path, marker)
    monkeypatch.setattr(resources, "weights_path", lambda name: tmp_path / "pnet.lz4")
    with pytest.raises(WeightsUnavailableError, match="Checksum mismatch for mtcnn_pnet"):
        detection._verified_weights("pnet")
    assert not marker.exists()


def test_mtcnn_weights_with_a_wrong_manifest_checksum_are_refused(monkeypatch):
    entry = dict(resources.weights_entry("mtcnn_onet"), sha256="0" * 64)
    monkeypatch.setitem(resources._manifest(), "mtcnn_onet", entry)
    monkeypatch.setattr(detection, "_detector", None)
    with pytest.raises(WeightsUnavailableError, match="mtcnn_onet"):
        detection.get_detector()
    assert detection._detector is None  # nothing half-built is kept


def test_a_sealed_cache_is_trusted_only_while_its_bytes_match(tmp_path):
    cache = tmp_path / "thing.npz"
    assert not is_sealed(cache)  # missing
    cache.write_bytes(b"first")
    assert not is_sealed(cache)  # no seal: an old cache, or a writer killed before sealing
    seal_cache(cache)
    assert is_sealed(cache)
    cache.write_bytes(b"other")  # replaced, even by something valid
    assert not is_sealed(cache)
    seal_cache(cache)
    (tmp_path / "thing.npz.sha256").write_text("not a digest")
    assert not is_sealed(cache)


@pytest.mark.slow
def test_a_dlib_cache_replaced_by_other_valid_weights_is_rebuilt(tmp_path, monkeypatch):
    """Bush vs Powell came out "same person" when random weights replaced the cache."""
    from fr_utils.models import dlib_resnet

    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path))
    good = dlib_resnet.load_dlib_resnet()
    (cached,) = (tmp_path / "fr_utils").glob("*.weights.h5")
    assert is_sealed(cached)
    dlib_resnet.build_dlib_resnet().save_weights(cached)  # valid Keras weights, wrong ones
    assert not is_sealed(cached)
    model = dlib_resnet.load_dlib_resnet()
    for ours, expected in zip(model.get_weights(), good.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, expected)
    assert is_sealed(cached)  # converted again and sealed


def test_a_replaced_lfw_crops_cache_is_rebuilt(tmp_path, monkeypatch):
    from fr_utils.lfw.crops import load_lfw_crops

    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "lfw"
    for person, value in (("Ann_A", 60), ("Bob_B", 180)):
        (root / person).mkdir(parents=True)
        for k in range(2):
            pixels = np.full((250, 250, 3), value + k, np.uint8)
            Image.fromarray(pixels).save(root / person / f"{person}_{k + 1:04d}.jpg", quality=95)
    first = load_lfw_crops(min_images=2, max_images=2, size=8, crop=120, root=root)
    (cached,) = (tmp_path / "cache" / "face_crops").glob("*.npz")
    forged = tmp_path / "forged.npz"
    np.savez(forged, images=first.images * 0, labels=first.labels, names=np.array(first.names))
    shutil.copyfile(forged, cached)  # a valid crops file with other pixels
    again = load_lfw_crops(min_images=2, max_images=2, size=8, crop=120, root=root)
    np.testing.assert_array_equal(again.images, first.images)
    assert is_sealed(cached)
