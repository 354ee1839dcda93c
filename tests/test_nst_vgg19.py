"""The ImageNet VGG-19 backbone's real code path, exercised offline.

No weights can be downloaded here, so we check the offline error, then put a VGG-19 weights
file (randomly initialised, in Keras' legacy HDF5 layout like the real download) where the
resolver looks and check that `load_backbone` loads exactly those weights.
"""

import h5py
import keras
import numpy as np
import pytest

from nst_utils import backbone as nst_backbone
from nst_utils import feature_extractor, load_backbone
from nst_utils.models.vgg import build_vgg19_imagenet
from workbook import WeightsUnavailableError, resources

FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("CI", "1")
    return tmp_path / "cache"


def test_vgg19_offline_without_cache_says_what_to_do(empty_cache):
    with pytest.raises(WeightsUnavailableError, match=f"not cached.*{FILE}"):
        load_backbone("vgg19_imagenet")


@pytest.mark.slow
def test_vgg19_loads_cached_weights(empty_cache, monkeypatch):
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(1)
    source = keras.applications.VGG19(weights=None, include_top=False)
    path = empty_cache / "models" / FILE
    path.parent.mkdir(parents=True)
    with h5py.File(path, "w") as h5:  # the layout of Keras' published .h5 weight files
        legacy_h5_format.save_weights_to_hdf5_group(h5, source)
    entry = dict(
        resources.weights_entry("vgg19_imagenet_notop"), hash=resources.file_digest(path, "md5")
    )
    monkeypatch.setattr(resources, "weights_entry", lambda name: entry)
    monkeypatch.setattr(nst_backbone, "_loaded", {})  # this fake VGG-19 must not stay cached

    backbone = load_backbone("vgg19_imagenet")
    assert load_backbone("vgg19_imagenet") is backbone  # built once per process
    assert backbone.name == "vgg19_imagenet" and not backbone.model.trainable
    assert backbone.mean_bgr == pytest.approx((103.939, 116.779, 123.68))
    assert "block5_conv4" in backbone.conv_layers and len(backbone.conv_layers) == 16
    for name in ("block1_conv1", "block5_conv4"):
        for got, want in zip(
            backbone.model.get_layer(name).get_weights(),
            source.get_layer(name).get_weights(),
            strict=True,
        ):
            np.testing.assert_array_equal(got, want)
    outputs = feature_extractor(backbone, [("block1_conv1", 1.0)], "block5_conv4")(
        [np.zeros((1, 32, 32, 3), np.float32)]
    )
    assert outputs["block5_conv4"].shape == (1, 2, 2, 512)

    path.write_bytes(b"corrupt")  # a different file no longer passes the checksum
    with pytest.raises(WeightsUnavailableError, match="Checksum mismatch"):
        build_vgg19_imagenet()
