"""OpenFace nn4.small2 (the course's FRmodel): architecture, CSV weight loader, download policy."""

from __future__ import annotations

import numpy as np
import pytest

from fr_utils.models.openface import (
    OPENFACE_THRESHOLD,
    LocalResponseNormalization,
    build_openface,
    git_blob_sha1,
    load_openface_csv,
)
from workbook import data_path


@pytest.fixture(scope="module")
def model():
    return build_openface()


# gamma, beta, moving mean, moving variance
_BN_RANGES = ((0.5, 1.5), (-0.1, 0.1), (-0.1, 0.1), (0.5, 1.5))


def _write_csvs(model, folder, rng):
    """Write random weights in the upstream CSV layout; return what each layer should get."""
    import keras

    expected = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            rows, cols, cin, cout = layer.kernel.shape
            scale = 1 / np.sqrt(cin * rows * cols)  # keeps activations finite through 37 layers
            torch_w = (scale * rng.normal(size=(cout, cin, rows, cols))).astype(np.float32)
            bias = rng.normal(size=cout).astype(np.float32)
            np.savetxt(folder / f"{layer.name}_w.csv", torch_w.reshape(1, -1), delimiter=",")
            np.savetxt(folder / f"{layer.name}_b.csv", bias.reshape(1, -1), delimiter=",")
            expected[layer.name] = [torch_w.transpose(2, 3, 1, 0), bias]
        elif isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            values = [rng.uniform(lo, hi, n).astype(np.float32) for lo, hi in _BN_RANGES]
            for suffix, v in zip("wbmv", values, strict=True):
                np.savetxt(folder / f"{layer.name}_{suffix}.csv", v.reshape(1, -1), delimiter=",")
            expected[layer.name] = values
        elif isinstance(layer, keras.layers.Dense):
            w = (rng.normal(size=(128, 736)) / np.sqrt(736)).astype(np.float32)
            b = rng.normal(size=128).astype(np.float32)
            np.savetxt(folder / "dense_w.csv", w.reshape(1, -1), delimiter=",")
            np.savetxt(folder / "dense_b.csv", b.reshape(1, -1), delimiter=",")
            expected[layer.name] = [w.T, b]
    return expected


def test_architecture_matches_nn4_small2(model):
    assert model.input_shape == (None, 96, 96, 3) and model.output_shape == (None, 128)
    shapes = {
        name: model.get_layer(name).output.shape[1:]
        for name in ("inception_3a", "inception_3b", "inception_3c", "inception_4a")
    }
    assert shapes == {
        "inception_3a": (12, 12, 256),
        "inception_3b": (12, 12, 320),
        "inception_3c": (6, 6, 640),
        "inception_4a": (6, 6, 640),
    }
    assert model.get_layer("inception_4e").output.shape[1:] == (3, 3, 1024)
    assert model.get_layer("inception_5b").output.shape[1:] == (3, 3, 736)
    assert model.get_layer("inception_3a_5x5_conv2").kernel.shape == (5, 5, 16, 32)
    assert sum(1 for la in model.layers if la.__class__.__name__ == "Conv2D") == 37
    assert model.count_params() > 3.7e6


def test_local_response_normalization_matches_tensorflow():
    import tensorflow as tf

    x = np.random.default_rng(0).normal(size=(2, 3, 4, 20)).astype(np.float32) * 30
    ours = np.asarray(LocalResponseNormalization()(x))
    reference = tf.nn.lrn(x, depth_radius=5, bias=1.0, alpha=1e-4, beta=0.75).numpy()
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_csv_loader_puts_every_array_in_place(model, tmp_path):
    rng = np.random.default_rng(0)
    expected = _write_csvs(model, tmp_path, rng)
    from workbook.resources import weights_entry

    # Every file the model needs is upstream; upstream has two stray exports besides.
    upstream = set(weights_entry("openface_nn4_small2_v1")["files"])
    written = {p.name for p in tmp_path.glob("*.csv")}
    assert upstream - written == {"inception_5a_3x3_conv2_m.csv", "inception_5a_3x3_conv2_v.csv"}
    assert written <= upstream
    load_openface_csv(model, tmp_path)
    for name, arrays in expected.items():
        got = model.get_layer(name).get_weights()
        for g, e in zip(got, arrays, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6, err_msg=name)
    out = model.predict(rng.uniform(0, 255, (2, 96, 96, 3)).astype(np.float32), verbose=0)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_csv_loader_names_bad_files(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="conv1_w.csv"):
        load_openface_csv(model, tmp_path)
    np.savetxt(tmp_path / "conv1_w.csv", np.ones((1, 10)), delimiter=",")
    with pytest.raises(ValueError, match="conv1_w.csv.*10 values"):
        load_openface_csv(model, tmp_path)
    (tmp_path / "conv1_w.csv").write_text("a,b,c")
    with pytest.raises(ValueError, match="conv1_w.csv"):
        load_openface_csv(model, tmp_path)


def test_manifest_lists_every_upstream_file_with_a_checksum():
    from workbook.resources import weights_entry

    entry = weights_entry("openface_nn4_small2_v1")
    files = entry["files"]
    assert len(files) == 226 and entry["hash_algorithm"] == "git-blob-sha1"
    assert all(len(h) == 40 for h in files.values())
    assert "1445ea5d1c98c136cdbb72052427e083108e9a51" in entry["base_url"]  # pinned commit
    # the well-known blob id of an empty file, to check the checksum function itself
    assert git_blob_sha1(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_no_download_when_offline(tmp_path, monkeypatch):
    from fr_utils.models.openface import download_openface_csv
    from workbook import WeightsUnavailableError

    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path))
    monkeypatch.setenv("WORKBOOK_OFFLINE", "1")
    with pytest.raises(WeightsUnavailableError, match="dlib_resnet_v1"):
        download_openface_csv()


def test_threshold_matches_the_reference_embeddings():
    from fr_utils.metrics import best_threshold, verification_accuracy

    folder = data_path("faces/openface_reference")
    reps = np.loadtxt(folder / "reps.csv", delimiter=",")
    labels = np.loadtxt(folder / "labels.csv", delimiter=",", usecols=0)
    rows, cols = np.triu_indices(len(reps), 1)
    same = labels[rows] == labels[cols]
    dist = np.linalg.norm(reps[rows] - reps[cols], axis=1)
    different = np.random.default_rng(0).choice(np.flatnonzero(~same), same.sum(), replace=False)
    pairs = np.concatenate([np.flatnonzero(same), different])
    threshold = best_threshold(dist[pairs], same[pairs])
    accuracy = verification_accuracy(dist[pairs], same[pairs], threshold)
    assert abs(threshold - OPENFACE_THRESHOLD) < 0.005
    assert 0.92 < accuracy < 0.94  # OpenFace reports 92.9% on LFW
