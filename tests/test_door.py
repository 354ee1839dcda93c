"""Notebook 05's door: exercise checks (reference passes, stubs and classic mistakes fail),
top-k matches, the static report and the widget panel, batched LFW encoding, figures."""

import datetime
import io

import matplotlib
import numpy as np
import pytest

import fr_utils
from fr_utils.checks import nb05 as checks_recognition
from fr_utils.checks.nb05 import check_verify, check_who_is_it
from fr_utils.lessons.door import door_panel, door_report, top_matches
from fr_utils.lfw.gallery import encode_photos, sample_lfw_people
from workbook import CheckFailed, data_path

matplotlib.use("Agg")

# ---------------------------------------------------------------- the exercises, course style
# Each function reads `img_to_encoding` from this module's globals, as a notebook's would.
img_to_encoding = fr_utils.img_to_encoding


def verify_reference(image_path, identity, database, encoder, threshold=None):
    threshold = encoder.threshold if threshold is None else threshold
    encoding = img_to_encoding(image_path, encoder)
    dist = np.linalg.norm(encoding - database[identity])
    return float(dist), bool(dist <= threshold)


def verify_inverted(image_path, identity, database, encoder, threshold=None):
    threshold = encoder.threshold if threshold is None else threshold
    dist = np.linalg.norm(img_to_encoding(image_path, encoder) - database[identity])
    return float(dist), bool(dist > threshold)


def verify_squared(image_path, identity, database, encoder, threshold=None):
    threshold = encoder.threshold if threshold is None else threshold
    dist = np.sum((img_to_encoding(image_path, encoder) - database[identity]) ** 2)
    return float(dist), bool(dist < threshold)


def verify_ignores_threshold_argument(image_path, identity, database, encoder, threshold=None):
    dist = np.linalg.norm(img_to_encoding(image_path, encoder) - database[identity])
    return float(dist), bool(dist < encoder.threshold)


GLOBAL_ENCODER = checks_recognition._StubEncoder()


def verify_global_encoder(image_path, identity, database, encoder, threshold=None):
    threshold = encoder.threshold if threshold is None else threshold
    dist = np.linalg.norm(img_to_encoding(image_path, GLOBAL_ENCODER) - database[identity])
    return float(dist), bool(dist < threshold)


def verify_stub(image_path, identity, database, encoder, threshold=None):
    raise NotImplementedError()


def who_is_it_reference(image_path, database, encoder, threshold=None, start=100.0, square=False):
    threshold = encoder.threshold if threshold is None else threshold
    encoding = img_to_encoding(image_path, encoder)
    min_dist, identity = start, None
    for name, db_enc in database.items():
        dist = np.linalg.norm(encoding - db_enc)
        dist = dist**2 if square else dist
        if dist < min_dist:
            min_dist, identity = dist, name
    if min_dist > threshold:
        return float(min_dist), None
    return float(min_dist), identity


def who_is_it_min_dist_starts_at_one(image_path, database, encoder, threshold=None):
    return who_is_it_reference(image_path, database, encoder, threshold, start=1.0)


def who_is_it_squared(image_path, database, encoder, threshold=None):
    return who_is_it_reference(image_path, database, encoder, threshold, square=True)


def who_is_it_always_names(image_path, database, encoder, threshold=None):
    encoding = img_to_encoding(image_path, encoder)
    dists = {name: np.linalg.norm(encoding - e) for name, e in database.items()}
    identity = min(dists, key=dists.get)
    return float(dists[identity]), identity


def who_is_it_inverted_update(image_path, database, encoder, threshold=None):
    threshold = encoder.threshold if threshold is None else threshold
    encoding = img_to_encoding(image_path, encoder)
    min_dist, identity = 100.0, None
    for name, db_enc in database.items():
        dist = np.linalg.norm(encoding - db_enc)
        if dist > min_dist:
            min_dist, identity = dist, name
    return float(min_dist), (None if min_dist > threshold else identity)


def who_is_it_forgets_return(image_path, database, encoder, threshold=None):
    who_is_it_reference(image_path, database, encoder, threshold)


def test_reference_solutions_pass(capsys):
    check_verify(verify_reference)
    check_who_is_it(who_is_it_reference)
    assert capsys.readouterr().out.count("All checks passed") == 2


def test_checks_restore_img_to_encoding_everywhere():
    check_verify(verify_reference)
    assert img_to_encoding is fr_utils.img_to_encoding is fr_utils.api.img_to_encoding
    assert globals()["img_to_encoding"] is fr_utils.api.img_to_encoding


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (verify_inverted, "inverted"),
        (verify_squared, "its square"),
        (verify_ignores_threshold_argument, "threshold argument"),
        (verify_global_encoder, "`encoder` argument"),
    ],
)
def test_check_verify_names_the_classic_mistakes(function, message):
    with pytest.raises(CheckFailed, match=message):
        check_verify(function)


def test_check_verify_fails_on_the_stub():
    with pytest.raises(NotImplementedError):
        check_verify(verify_stub)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (who_is_it_min_dist_starts_at_one, "larger than any distance"),
        (who_is_it_squared, "not its square"),
        (who_is_it_always_names, "identity None"),
        (who_is_it_inverted_update, "when dist < min_dist"),
        (who_is_it_forgets_return, "returned None"),
    ],
)
def test_check_who_is_it_names_the_classic_mistakes(function, message):
    with pytest.raises(CheckFailed, match=message):
        check_who_is_it(function)


def test_stub_encodings_sit_at_the_stated_distances():
    probe = checks_recognition._probe()
    for distance in (0.3, 0.6, 1.2, 1.9):
        vector = checks_recognition._at_distance(distance, 5)
        assert np.isclose(np.linalg.norm(vector), 1.0, atol=1e-6)
        assert np.isclose(np.linalg.norm(probe - vector), distance, atol=1e-6)


# ---------------------------------------------------------------- top matches
def _unit(rng, n):
    rows = rng.normal(size=(n, 128)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_top_matches_one_entry_per_identity_nearest_first():
    rng = np.random.default_rng(0)
    a, b, c = _unit(rng, 3)
    query = a + 0.05 * _unit(rng, 1)[0]
    database = {"a": np.stack([b, a]), "b": b[None], "c": c[None]}
    matches = top_matches(query, database, k=3)
    assert [name for name, _ in matches][0] == "a"
    assert len({name for name, _ in matches}) == 3
    assert np.isclose(matches[0][1], np.linalg.norm(query - a), atol=1e-6)
    assert [d for _, d in matches] == sorted(d for _, d in matches)
    assert len(top_matches(query, database, k=10)) == 3


def test_top_matches_same_on_face_database_and_dict():
    rng = np.random.default_rng(1)
    rows = _unit(rng, 5)
    database = fr_utils.FaceDatabase()
    as_dict = {}
    for i, row in enumerate(rows):
        database.add(f"p{i}", row)
        as_dict[f"p{i}"] = row[None]
    query = rows[2]
    assert top_matches(query, database, 2) == top_matches(query, as_dict, 2)
    assert top_matches(query, database, 1)[0] == ("p2", pytest.approx(0.0, abs=1e-5))


@pytest.mark.parametrize(
    ("database", "k", "error"),
    [({}, 3, "empty"), ({"a": np.ones((1, 128))}, 0, "at least 1"), ([], 1, "FaceDatabase")],
)
def test_top_matches_rejects_bad_input(database, k, error):
    kind = TypeError if isinstance(database, list) else ValueError
    with pytest.raises(kind, match=error):
        top_matches(np.ones(128), database, k)


# ---------------------------------------------------------------- LFW sample
def test_sample_lfw_people_is_reproducible_and_shaped():
    root = data_path("faces/lfw")
    paths, names = sample_lfw_people(root, n_people=5, n_strangers=3, seed=4)
    assert (paths, names) == sample_lfw_people(root, n_people=5, n_strangers=3, seed=4)
    assert len(paths) == len(names) == 13
    assert all(path.parent.name == name for path, name in zip(paths, names, strict=True))
    assert len(set(paths)) == 13
    people, counts = np.unique(names, return_counts=True)
    assert sorted(counts.tolist()) == [1, 1, 1, 2, 2, 2, 2, 2]
    with pytest.raises(ValueError, match="Asked for"):
        sample_lfw_people(root, n_people=10**6, n_strangers=0)
    with pytest.raises(FileNotFoundError, match="No LFW folder"):
        sample_lfw_people(root / "nope", 1, 1)


# ---------------------------------------------------------------- with the real model
@pytest.fixture(scope="module")
def encoder():
    return fr_utils.load_face_model()


@pytest.fixture(scope="module")
def door(encoder):
    folder = data_path("faces/public_domain")
    database = {
        "Barack Obama": fr_utils.img_to_encoding(
            folder / "Barack_Obama" / "obama_official_portrait_2012.jpg", encoder
        ),
        "Joe Biden": fr_utils.img_to_encoding(
            folder / "Joe_Biden" / "biden_official_vp_portrait_2013.jpg", encoder
        ),
    }
    return folder, database


@pytest.mark.slow
def test_encode_photos_in_batches_matches_photo_by_photo(encoder):
    paths, _ = sample_lfw_people(data_path("faces/lfw"), n_people=3, n_strangers=2, seed=1)
    encodings, found = encode_photos(paths, encoder, batch_size=3)
    assert encodings.shape == (8, 128) and found.all()
    assert np.allclose(np.linalg.norm(encodings, axis=1), 1.0, atol=1e-5)
    single = fr_utils.img_to_encoding(paths[0], encoder)
    assert np.linalg.norm(single[0] - encodings[0]) < 0.05
    blank, found = encode_photos([np.zeros((64, 64, 3), np.uint8)], encoder)
    assert not found.any() and not blank.any()


@pytest.mark.slow
def test_door_report_opens_for_obama_and_not_for_a_stranger(door, encoder):
    folder, database = door
    report = door_report(folder / "Barack_Obama" / "obama_blue_room_2010.jpg", database, encoder)
    assert report.splitlines()[1].split()[1:3] == ["Barack", "Obama"]
    assert report.endswith("door OPENS for Barack Obama")
    stranger = door_report(folder / "unknown" / "eileen_collins_nasa.png", database, encoder)
    assert stranger.endswith("unknown person") and stranger.count("too far") == 2


def _upload(name, kind, content):
    """What ipywidgets 8's FileUpload holds for one file the browser sent."""
    return {
        "name": name,
        "type": kind,
        "size": len(content),
        "content": memoryview(content),
        "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    }


@pytest.mark.slow
def test_door_panel_follows_upload_and_slider(door, encoder):
    folder, database = door
    panel = door_panel(database, encoder)
    assert "Upload a photo" in panel.text.value
    content = (folder / "Joe_Biden" / "biden_blue_room_2010.jpg").read_bytes()
    panel.upload.value = (_upload("me.jpg", "image/jpeg", content),)
    text = panel.text.value
    assert "uploaded photo" in text and "door OPENS for Joe Biden" in text
    panel.slider.value = 0.2
    text = panel.text.value
    assert "door stays closed" in text
    blank = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (80, 80)).save(blank, format="PNG")
    panel.upload.value = (_upload("x.png", "image/png", blank.getvalue()),)
    assert "No face found" in panel.text.value


def test_draw_faces_and_chip_put_every_landmark_on_the_axes():
    import matplotlib.pyplot as plt

    from fr_utils.lessons.drawing import draw_chip, draw_faces

    face = fr_utils.AlignedFace(
        chip=np.zeros((150, 150, 3), np.uint8),
        box=(10.0, 20.0, 50.0, 60.0),
        confidence=0.99,
        landmarks=np.array([[20, 40], [40, 40], [30, 50], [22, 62], [38, 62]], float),
        transform=np.eye(2, 3),
    )
    fig, (ax1, ax2) = plt.subplots(1, 2)
    draw_faces(ax1, np.zeros((100, 100, 3), np.uint8), [face, face])
    draw_chip(ax2, face.chip)
    assert len(ax1.patches) == 2 and len(ax1.lines) == 10 and len(ax2.lines) == 5
    plt.close(fig)


@pytest.mark.slow
def test_encode_photos_uses_the_subject_rule(encoder):
    from PIL import Image

    from fr_utils.faces import AmbiguousFaceError, AmbiguousFaceWarning

    root = data_path("faces/lfw")
    clooney = root / "George_Clooney/George_Clooney_0006.jpg"
    a = fr_utils.load_image(clooney)
    b = fr_utils.load_image(root / "Martha_Burk/Martha_Burk_0002.jpg")
    twins = np.concatenate([a, b], axis=1)  # two 250x250 photos side by side: comparable
    clear = np.full_like(twins, 128)  # the same, the second person at 40 % of the size
    clear[:, :250] = a
    clear[75:175, 325:425] = np.asarray(Image.fromarray(b).resize((100, 100)))
    with pytest.warns(AmbiguousFaceWarning):
        encode_photos([twins], encoder)
    with pytest.raises(AmbiguousFaceError):
        encode_photos([twins], encoder, ambiguous="raise")
    encodings, found = encode_photos([clear], encoder, ambiguous="raise")
    own = fr_utils.img_to_encoding(clooney, encoder)
    assert found.all() and np.linalg.norm(encodings[0] - own[0]) < 0.2
