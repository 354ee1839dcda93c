"""The face-rule study (fr_utils.lfw.face_rule) on small made-up detections."""

from __future__ import annotations

import numpy as np
import pytest

from fr_utils.lfw import face_rule


def made_up_study():
    """Three photos of Ann (250x250): her face in the middle, a stranger at the side of two.

    Face rows: photo 0: Ann (centre, 80 px), stranger (top left corner, 100 px); photo 1:
    Ann; photo 2: stranger (right, 60 px, confidence 0.85), Ann (centre, 70 px).
    """
    rng = np.random.default_rng(0)
    ann = rng.normal(size=128)
    ann /= np.linalg.norm(ann)

    def near(vector):
        v = vector + rng.normal(scale=0.01, size=128)
        return v / np.linalg.norm(v)

    strangers = rng.normal(size=(2, 128))
    strangers /= np.linalg.norm(strangers, axis=1, keepdims=True)
    encodings = np.stack([near(ann), strangers[0], near(ann), strangers[1], near(ann)])
    return {
        "paths": np.array([f"Ann/Ann_000{i}.jpg" for i in (1, 2, 3)]),
        "shape": np.full((3, 2), 250),
        "photo": np.array([0, 0, 1, 2, 2]),
        "box": np.array(
            [
                [85, 85, 80, 80],
                [0, 0, 100, 100],
                [85, 85, 80, 80],
                [190, 95, 60, 60],
                [90, 90, 70, 70],
            ],
            float,
        ),  # fmt: skip
        "confidence": np.array([0.99, 0.98, 0.999, 0.85, 0.97]),
        "encoding": encodings.astype(np.float32),
    }


def test_the_labelled_face_is_the_one_that_looks_like_the_other_photos():
    assert face_rule.label_subjects(made_up_study()).tolist() == [0, 2, 4]


def test_rules_pick_by_size_position_and_floor():
    data = made_up_study()
    largest = face_rule.rule_scores(data, np.inf, 0)
    assert largest.tolist() == pytest.approx([80, 100, 80, 60, 70])
    # "largest" takes the stranger in photo 0; the floor 0.9 removes the weak one in photo 2
    assert face_rule.picks(data, largest, 0.9).tolist() == [1, 2, 4]
    prominent = face_rule.rule_scores(data, 0.75, 0)
    assert face_rule.picks(data, prominent, 0.9).tolist() == [0, 2, 4]
    ratio = face_rule.runner_up_ratio(data, prominent, 0.9)
    assert ratio[1] == 0 and ratio[2] == 0 and 0 < ratio[0] < 1


def test_study_photos_leave_out_every_evaluated_photo():
    from fr_utils.lfw.pairs import read_pairs
    from workbook import data_path

    root = data_path("faces/lfw")
    photos = face_rule.study_photos(root, per_person=3)
    _, _, a, b = read_pairs("view2", root)
    assert photos and not set(photos) & (set(a) | set(b))
    people = [p.split("/")[0] for p in photos]
    assert max(people.count(p) for p in set(people)) <= 3 and min(map(people.count, people)) >= 2
