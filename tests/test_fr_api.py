"""The public API on real photos: encodings, distances, verify, who_is_it, FaceDatabase."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fr_utils
from fr_utils import FaceDatabase, NoFaceFoundError
from workbook import data_path

PD = "faces/public_domain"
OBAMA = [
    f"{PD}/Barack_Obama/obama_official_portrait_2012.jpg",
    f"{PD}/Barack_Obama/obama_joint_session_2009.jpg",
    f"{PD}/Barack_Obama/obama_blue_room_2010.jpg",
]
BIDEN = [
    f"{PD}/Joe_Biden/biden_official_vp_portrait_2013.jpg",
    f"{PD}/Joe_Biden/biden_blue_room_2010.jpg",
]
UNKNOWN = f"{PD}/unknown/eileen_collins_nasa.png"


def test_public_names_are_exported():
    for name in (
        "load_face_model",
        "FaceEncoder",
        "img_to_encoding",
        "face_distance",
        "verify",
        "who_is_it",
        "triplet_loss",
        "NoFaceFoundError",
        "WeakFaceWarning",
        "FaceDatabase",
        "align_faces",
    ):
        assert name in fr_utils.__all__ and hasattr(fr_utils, name)
    assert issubclass(NoFaceFoundError, ValueError)
    from fr_utils.losses import triplet_loss

    assert fr_utils.triplet_loss is triplet_loss


@pytest.fixture(scope="module")
def encoder():
    return fr_utils.load_face_model()


@pytest.fixture(scope="module")
def encodings(encoder):
    paths = OBAMA + BIDEN + [UNKNOWN]
    return {p: fr_utils.img_to_encoding(data_path(p), encoder) for p in paths}


@pytest.fixture()
def database(encoder, encodings):
    db = FaceDatabase()
    db.add("Barack Obama", np.concatenate([encodings[p] for p in OBAMA[:2]]))
    db.add("Joe Biden", encodings[BIDEN[0]])
    return db


@pytest.mark.slow
def test_load_face_model_is_cached_and_describes_itself(encoder):
    assert fr_utils.load_face_model() is encoder
    assert encoder.name == "dlib_resnet_v1" and encoder.input_size == 150
    assert 0.3 < encoder.threshold < 0.6
    assert encoder.model.output_shape == (None, 128)


@pytest.mark.slow
def test_img_to_encoding_accepts_paths_pil_and_arrays(encoder, encodings):
    from PIL import Image

    path = data_path(OBAMA[0])
    enc = encodings[OBAMA[0]]
    assert enc.shape == (1, 128) and enc.dtype == np.float32
    assert abs(np.linalg.norm(enc) - 1) < 1e-5
    np.testing.assert_allclose(fr_utils.img_to_encoding(Image.open(path), encoder), enc, atol=1e-5)
    array = fr_utils.load_image(path)
    np.testing.assert_allclose(fr_utils.img_to_encoding(array, encoder), enc, atol=1e-5)
    chip = fr_utils.align_face(path).chip
    np.testing.assert_allclose(
        fr_utils.img_to_encoding(chip, encoder, aligned=True), enc, atol=1e-5
    )


@pytest.mark.slow
def test_face_distance_separates_people(encoder):
    same = fr_utils.face_distance(data_path(OBAMA[0]), data_path(OBAMA[1]), encoder)
    different = fr_utils.face_distance(data_path(OBAMA[0]), data_path(BIDEN[0]), encoder)
    assert isinstance(same, float)
    assert same < encoder.threshold < different


@pytest.mark.slow
@pytest.mark.parametrize("as_dict", [False, True])
def test_verify(encoder, database, encodings, as_dict):
    db = (
        {"Barack Obama": encodings[OBAMA[0]], "Joe Biden": encodings[BIDEN[0]]}
        if as_dict
        else database
    )
    dist, is_same = fr_utils.verify(data_path(OBAMA[2]), "Barack Obama", db, encoder)
    assert is_same is True and 0 < dist < encoder.threshold
    dist, is_same = fr_utils.verify(data_path(OBAMA[2]), "Joe Biden", db, encoder)
    assert is_same is False and dist > encoder.threshold
    _, strict = fr_utils.verify(data_path(OBAMA[2]), "Barack Obama", db, encoder, threshold=0.01)
    assert strict is False


@pytest.mark.slow
@pytest.mark.parametrize("as_dict", [False, True])
def test_who_is_it(encoder, database, encodings, as_dict):
    db = (
        {"Barack Obama": encodings[OBAMA[0]], "Joe Biden": encodings[BIDEN[0]]}
        if as_dict
        else database
    )
    dist, name = fr_utils.who_is_it(data_path(BIDEN[1]), db, encoder)
    assert name == "Joe Biden" and dist < encoder.threshold
    dist, name = fr_utils.who_is_it(data_path(UNKNOWN), db, encoder)
    assert name is None and dist > encoder.threshold
    assert fr_utils.who_is_it(data_path(UNKNOWN), {}, encoder) == (math.inf, None)


def test_unknown_identity_lists_the_known_names(encoder, database):
    with pytest.raises(KeyError, match="Barack Obama, Joe Biden"):
        fr_utils.verify(data_path(OBAMA[2]), "Kamala Harris", database, encoder)
    with pytest.raises(KeyError, match="Joe Biden"):
        fr_utils.verify(
            data_path(OBAMA[2]), "Kamala Harris", {"Joe Biden": np.ones((1, 128))}, encoder
        )


@pytest.mark.parametrize("threshold", [0, -0.3])
def test_non_positive_threshold_is_rejected(encoder, database, threshold):
    with pytest.raises(ValueError, match="threshold"):
        fr_utils.verify(data_path(OBAMA[2]), "Joe Biden", database, encoder, threshold=threshold)
    with pytest.raises(ValueError, match="threshold"):
        fr_utils.who_is_it(data_path(OBAMA[2]), database, encoder, threshold=threshold)
    with pytest.raises(ValueError, match="threshold"):
        database.identify(np.ones(128), threshold)


@pytest.mark.slow
def test_no_face_raises_no_face_found_error(encoder, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    blank = tmp_path / "wall.png"
    Image.fromarray(rng.integers(100, 120, (200, 300, 3), dtype=np.uint8)).save(blank)
    with pytest.raises(NoFaceFoundError, match="wall.png"):
        fr_utils.img_to_encoding(blank, encoder)
    assert fr_utils.align_faces(blank) == []
    with pytest.raises(NoFaceFoundError):
        fr_utils.img_to_encoding(np.zeros((5, 5, 3), np.uint8), encoder)


def test_bad_files_name_the_file(encoder, tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "readme.jpg"
    text.write_text("not a jpeg")
    data = data_path(OBAMA[1]).read_bytes()
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(data[:2000])
    for path in (empty, text, truncated):
        with pytest.raises(ValueError, match=path.name):
            fr_utils.img_to_encoding(path, encoder)


# ---------------------------------------------------------------- FaceDatabase
def _unit(rng, n):
    x = rng.normal(size=(n, 128)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_database_search_matches_brute_force():
    rng = np.random.default_rng(1)
    db = FaceDatabase(backend="numpy")
    gallery = _unit(rng, 300)
    for i in range(100):
        db.add(f"person {i}", gallery[3 * i : 3 * i + 3])
    assert len(db) == 100 and db.num_encodings == 300 and "person 7" in db
    queries = _unit(rng, 20)
    dists, names = db.search(queries)
    brute = np.linalg.norm(queries[:, None] - gallery[None], axis=-1)
    np.testing.assert_allclose(dists, brute.min(axis=1), atol=1e-5)
    assert names == [f"person {j // 3}" for j in brute.argmin(axis=1)]
    db.remove("person 7")
    assert "person 7" not in db and db.num_encodings == 297
    with pytest.raises(KeyError, match="person 0"):
        db.encodings_of("nobody")
    with pytest.raises(ValueError, match="empty"):
        FaceDatabase().search(queries)


@pytest.mark.parametrize("ivf", [False, True])
def test_faiss_backend_finds_the_same_neighbours(monkeypatch, ivf):
    pytest.importorskip("faiss")
    from fr_utils import database as module

    if ivf:  # exercise the inverted-file index on a small gallery
        monkeypatch.setattr(module, "IVF_MIN_GALLERY", 1000)
    rng = np.random.default_rng(2)
    gallery = _unit(rng, 5000)
    names = [f"p{i}" for i in range(5000)]
    both = [FaceDatabase(backend=b) for b in ("numpy", "faiss")]
    for db in both:
        db._names, db._encodings = list(names), gallery.copy()
    assert both[1].uses_faiss() and not both[0].uses_faiss()
    queries = gallery[:50] + 0.02 * rng.normal(size=(50, 128)).astype(np.float32)
    (d_np, n_np), (d_fs, n_fs) = (db.search(queries) for db in both)
    assert n_np == n_fs == names[:50]
    np.testing.assert_allclose(d_np, d_fs, atol=1e-4)


def test_database_rejects_bad_encodings_and_names():
    db = FaceDatabase()
    with pytest.raises(ValueError, match="128"):
        db.add("x", np.ones((2, 64)))
    with pytest.raises(ValueError, match="NaN"):
        db.add("x", np.full(128, np.nan))
    with pytest.raises(ValueError, match="name"):
        db.add("  ", np.ones(128))


def test_database_save_and_load_round_trip(tmp_path, database):
    path = database.save(tmp_path / "door.npz")
    loaded = FaceDatabase.load(path)
    assert loaded.identities == ["Barack Obama", "Joe Biden"]
    np.testing.assert_array_equal(loaded.encodings, database.encodings)
    assert loaded.row_names() == database.row_names()
    assert [p.name for p in tmp_path.iterdir()] == ["door.npz"]  # no temporary file left
    with np.load(path, allow_pickle=False) as data:  # readable without pickle
        assert data["encodings"].dtype == np.float32


def test_corrupted_or_edited_database_is_refused(tmp_path, database):
    path = database.save(tmp_path / "door.npz")
    good = path.read_bytes()
    # 1. damaged bytes
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="damaged.npz"):
        FaceDatabase.load(damaged)
    # 2. a valid .npz whose encodings were edited after saving
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["encodings"] = arrays["encodings"] + 0.01
    edited = tmp_path / "edited.npz"
    np.savez(edited, **arrays)
    with pytest.raises(ValueError, match="edited.npz.*checksum"):
        FaceDatabase.load(edited)
    # 3. something else entirely
    other = tmp_path / "other.npz"
    np.savez(other, x=np.ones(3))
    with pytest.raises(ValueError, match="other.npz"):
        FaceDatabase.load(other)
    assert path.read_bytes() == good
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        FaceDatabase.load(tmp_path / "missing.npz")


@pytest.mark.slow
def test_enroll_from_photos(encoder, encodings):
    db = FaceDatabase()
    added = db.enroll("Barack Obama", [data_path(p) for p in OBAMA[:2]], encoder)
    assert added.shape == (2, 128)
    np.testing.assert_allclose(added[0], encodings[OBAMA[0]][0], atol=1e-5)
    db.enroll("Joe Biden", data_path(BIDEN[0]), encoder)  # one photo alone
    assert db.identify(encodings[BIDEN[1]], encoder.threshold)[1] == "Joe Biden"
    with pytest.raises(ValueError, match="encodings"):
        FaceDatabase(encoder_name="openface_nn4_small2_v1").enroll(
            "x", data_path(OBAMA[0]), encoder
        )
