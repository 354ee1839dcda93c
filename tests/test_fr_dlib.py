"""The dlib file reader and the Keras port of dlib's ResNet face encoder."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fr_utils.models.dlib_format import DlibFormatError, _Reader, read_dlib_network
from workbook import weights_path

FIXTURES = Path(__file__).parent / "fixtures" / "dlib_parity"


@pytest.fixture(scope="module")
def dlib_layers():
    return read_dlib_network(weights_path("dlib_resnet_v1"))


@pytest.fixture(scope="module")
def parity_chips():
    entries = json.loads((FIXTURES / "chips.json").read_text())
    return np.stack([np.asarray(Image.open(FIXTURES / e["chip"])) for e in entries]), entries


@pytest.fixture(scope="module")
def encoder():
    import fr_utils

    return fr_utils.load_face_model()


# ---------------------------------------------------------------- the reader
@pytest.mark.parametrize(
    "raw, value",
    [(b"\x01\x00", 0), (b"\x01\x05", 5), (b"\x81\x05", -5), (b"\x02\x00\x01", 256)],
)
def test_dlib_packed_integers(raw, value):
    assert _Reader(raw, "test").integer() == value


def test_dlib_float_and_string():
    # 3 * 2^-1 = 1.5 ; a string is its length then its bytes
    reader = _Reader(b"\x01\x03\x81\x01" + b"\x01\x03con", "test")
    assert reader.floating() == 1.5
    assert reader.string() == "con"


def test_reader_finds_every_layer_of_the_face_resnet(dlib_layers):
    counts = Counter(layer.kind for layer in dlib_layers)
    assert counts["con"] == 29 and counts["affine"] == 29 and counts["fc"] == 1
    assert counts["add_prev"] == 14 and counts["avg_pool"] == 5 and counts["max_pool"] == 1
    first = dlib_layers[0]
    assert first.kind == "input_rgb_image_sized" and (first.attrs["rows"], first.attrs["cols"]) == (
        150,
        150,
    )
    np.testing.assert_allclose(first.attrs["mean_rgb"], (122.782, 117.001, 104.298), atol=1e-4)
    stem = dlib_layers[1]
    assert stem.params["filters"].shape == (32, 3, 7, 7) and stem.attrs["stride"] == (2, 2)
    assert dlib_layers[-1].params["weights"].shape == (256, 128)
    # parameters are real trained values, not zeros or garbage
    gammas = np.concatenate([la.params["gamma"] for la in dlib_layers if la.kind == "affine"])
    assert np.isfinite(gammas).all() and 0.01 < np.abs(gammas).mean() < 100


def test_reader_rejects_files_that_are_not_dlib_networks(tmp_path):
    bogus = tmp_path / "not_a_model.dat"
    bogus.write_text("hello, I am a text file\n" * 10)
    with pytest.raises(DlibFormatError, match="not_a_model.dat"):
        read_dlib_network(bogus)
    assert issubclass(DlibFormatError, ValueError)


def test_reader_rejects_a_truncated_model(tmp_path, dlib_layers):
    source = weights_path("dlib_resnet_v1").read_bytes()
    cut = tmp_path / "truncated.dat"
    cut.write_bytes(source[: dlib_layers[5].offset + 1000])  # inside a conv's filters
    with pytest.raises(DlibFormatError, match="truncated.dat"):
        read_dlib_network(cut)


# ---------------------------------------------------------------- the network
def test_zero_pad_add_matches_dlib_add_prev():
    from fr_utils.models.dlib_resnet import ZeroPadAdd

    a = np.arange(1 * 3 * 3 * 2, dtype=np.float32).reshape(1, 3, 3, 2)
    b = np.ones((1, 4, 4, 1), np.float32)
    out = np.asarray(ZeroPadAdd()([a, b]))
    assert out.shape == (1, 4, 4, 2)
    expected = np.zeros((1, 4, 4, 2), np.float32)
    expected[:, :3, :3, :] += a  # smaller tensor sits top-left, in the first channels
    expected[..., :1] += 1
    np.testing.assert_array_equal(out, expected)


def test_architecture_follows_dlibs_downsampling():
    from fr_utils.models.dlib_resnet import build_dlib_resnet

    model = build_dlib_resnet()
    sizes = {
        name: model.get_layer(name).output.shape[1:]
        for name in ("stem_conv", "stem_pool", "stage2_down_add", "stage3_down_add")
    }
    assert sizes == {
        "stem_conv": (72, 72, 32),
        "stem_pool": (35, 35, 32),
        "stage2_down_add": (17, 17, 64),
        "stage3_down_add": (8, 8, 128),
    }
    # conv branch is 3x3 but the pooled shortcut is 4x4 here: dlib's add gives 4x4
    assert model.get_layer("stage4_down_conv2").output.shape[1:3] == (3, 3)
    assert model.get_layer("stage4_down_add").output.shape[1:] == (4, 4, 256)
    assert model.get_layer("stage5_down_add").output.shape[1:] == (2, 2, 256)
    convs = [la for la in model.layers if la.__class__.__name__ == "Conv2D"]
    assert len(convs) == 29 and model.output_shape == (None, 128)


@pytest.mark.slow
def test_port_matches_dlib_compute_face_descriptor(parity_chips):
    """dlib's own descriptors of 9 aligned chips (see tests/fixtures/dlib_parity/README.md)."""
    from fr_utils.models.dlib_resnet import load_dlib_resnet

    chips, entries = parity_chips
    reference = np.load(FIXTURES / "dlib_descriptors.npz", allow_pickle=False)
    assert [str(c) for c in reference["chips"]] == [e["chip"] for e in entries]
    model = load_dlib_resnet(normalize=False)
    ours = model.predict(chips.astype(np.float32), verbose=0)
    assert np.abs(ours - reference["descriptors"]).max() < 1e-4


@pytest.mark.slow
def test_converted_weights_are_cached_and_reloaded(tmp_path, monkeypatch, parity_chips):
    from fr_utils.models import dlib_resnet

    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path))
    chips = parity_chips[0][:2].astype(np.float32)
    converted = dlib_resnet.load_dlib_resnet()
    cached = list((tmp_path / "fr_utils").glob("dlib_resnet_v1-*.weights.h5"))
    assert len(cached) == 1 and "55533b28a95800a5" in cached[0].name  # keyed by the .dat hash
    calls = []
    monkeypatch.setattr(dlib_resnet, "read_dlib_network", lambda *a: calls.append(a))
    reloaded = dlib_resnet.load_dlib_resnet()  # must not parse the .dat again
    assert calls == []
    expected = converted.predict(chips, verbose=0)
    np.testing.assert_array_equal(reloaded.predict(chips, verbose=0), expected)


@pytest.mark.slow
def test_a_damaged_cache_is_converted_again(tmp_path, monkeypatch, parity_chips):
    from fr_utils.models import dlib_resnet

    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path))
    dlib_resnet.load_dlib_resnet()
    (cached,) = (tmp_path / "fr_utils").glob("*.weights.h5")
    cached.write_bytes(b"garbage")
    model = dlib_resnet.load_dlib_resnet()
    reference = np.load(FIXTURES / "dlib_descriptors.npz", allow_pickle=False)["descriptors"]
    out = model.predict(parity_chips[0][:1].astype(np.float32), verbose=0)
    np.testing.assert_allclose(out[0], reference[0] / np.linalg.norm(reference[0]), atol=1e-5)
    assert cached.stat().st_size > 1_000_000


# ---------------------------------------------------------------- the encoder
@pytest.mark.slow
def test_encode_returns_unit_rows_and_is_deterministic(encoder, parity_chips):
    chips = parity_chips[0]
    first = encoder.encode(chips)
    assert first.shape == (len(chips), 128) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-6)
    again = encoder.encode(np.concatenate([chips[:1], chips[:1]]), batch_size=1)
    assert np.linalg.norm(again[0] - again[1]) == 0.0  # same chip twice: distance 0
    np.testing.assert_allclose(again[0], first[0], atol=1e-5)  # batch size does not matter
    np.testing.assert_allclose(encoder.encode(chips[0]), first[:1], atol=1e-5)  # one chip


@pytest.mark.slow
def test_same_person_is_much_closer_than_different_people(encoder, parity_chips):
    chips, entries = parity_chips
    enc = encoder.encode(chips)
    people = [Path(e["source"]).parent.name for e in entries]
    dist = np.linalg.norm(enc[:, None] - enc[None], axis=-1)
    same = np.array([[a == b for b in people] for a in people]) & ~np.eye(len(people), dtype=bool)
    different = np.array([[a != b for b in people] for a in people])
    assert same.sum() == 2  # the two George W. Bush photos
    assert dist[same].max() < encoder.threshold < dist[different].min()
    assert dist[same].max() < 0.6 * dist[different].mean()


def test_encode_rejects_unaligned_input(encoder):
    with pytest.raises(ValueError, match="align_faces"):
        encoder.encode(np.zeros((2, 250, 250, 3), np.uint8))


def test_threshold_must_be_positive(encoder):
    from fr_utils.encoder import FaceEncoder

    for bad in (0, -0.5, float("nan"), float("inf"), "abc"):
        with pytest.raises(ValueError, match="threshold"):
            FaceEncoder(encoder.model, "x", 150, 0.25, bad)
        with pytest.raises(ValueError, match="threshold"):
            encoder.with_threshold(bad)
    assert encoder.threshold > 0


def test_the_shared_encoder_cannot_be_changed_for_other_callers(encoder):
    import dataclasses

    import fr_utils

    strict = encoder.with_threshold(0.3)
    assert strict.threshold == 0.3 and strict.model is encoder.model
    with pytest.raises(dataclasses.FrozenInstanceError):
        encoder.threshold = 0.3
    assert fr_utils.load_face_model().threshold == encoder.threshold != 0.3


def test_unknown_model_name_lists_the_known_ones():
    import fr_utils

    with pytest.raises(ValueError, match="dlib_resnet_v1"):
        fr_utils.load_face_model("facenet")
