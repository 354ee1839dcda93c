"""The command line: verify, enroll, identify; exit codes and JSON output."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from fr_utils.cli import main
from workbook import data_path

PD = "faces/public_domain"
OBAMA_A = str(data_path(f"{PD}/Barack_Obama/obama_official_portrait_2012.jpg"))
OBAMA_B = str(data_path(f"{PD}/Barack_Obama/obama_blue_room_2010.jpg"))
BIDEN_A = str(data_path(f"{PD}/Joe_Biden/biden_official_vp_portrait_2013.jpg"))
BIDEN_B = str(data_path(f"{PD}/Joe_Biden/biden_blue_room_2010.jpg"))
UNKNOWN = str(data_path(f"{PD}/unknown/eileen_collins_nasa.png"))


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_verify_exit_codes_and_json(capsys):
    code, out, _ = run(capsys, "verify", OBAMA_A, OBAMA_B)
    assert code == 0 and out.startswith("same person: distance")
    code, out, _ = run(capsys, "--json", "verify", OBAMA_A, BIDEN_A)
    result = json.loads(out)
    assert code == 1 and result["same"] is False and result["distance"] > result["threshold"]
    code, out, _ = run(capsys, "verify", OBAMA_A, OBAMA_B, "--threshold", "0.01")
    assert code == 1 and out.startswith("different people")


@pytest.mark.slow
def test_enroll_then_identify(capsys, tmp_path):
    db = tmp_path / "door.npz"
    code, out, _ = run(capsys, "enroll", "Barack Obama", OBAMA_A, OBAMA_B, "--db", db)
    assert code == 0 and "2 photo(s)" in out and db.is_file()
    code, out, _ = run(capsys, "--json", "enroll", "Joe Biden", BIDEN_A, "--db", db)
    assert code == 0 and json.loads(out)["people"] == ["Barack Obama", "Joe Biden"]
    code, out, _ = run(capsys, "identify", BIDEN_B, "--db", db)
    assert code == 0 and out.startswith("Joe Biden (distance")
    code, out, _ = run(capsys, "--json", "identify", UNKNOWN, "--db", db)
    assert code == 1 and json.loads(out)["faces"][0]["name"] is None
    code, out, _ = run(capsys, "identify", UNKNOWN, "--db", db)
    assert code == 1 and out.startswith("unknown person (closest:")


def test_bad_input_exits_2_and_leaves_the_database_alone(capsys, tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 definitely not a zip")
    before = broken.read_bytes()
    code, _, err = run(capsys, "enroll", "Someone", OBAMA_A, "--db", broken)
    assert code == 2 and "broken.npz" in err
    assert broken.read_bytes() == before  # nothing overwritten
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    code, out, _ = run(capsys, "--json", "verify", empty, OBAMA_A)
    assert code == 2 and "empty.jpg" in json.loads(out)["error"]
    code, _, err = run(capsys, "identify", OBAMA_A, "--db", tmp_path / "missing.npz")
    assert code == 2 and "missing.npz" in err
    code, _, err = run(capsys, "verify", OBAMA_A, OBAMA_B, "--threshold", "-1")
    assert code == 2 and "threshold" in err


@pytest.mark.slow
def test_identify_without_a_face_exits_2(capsys, tmp_path):
    from PIL import Image

    from fr_utils import FaceDatabase

    db = tmp_path / "db.npz"
    database = FaceDatabase()
    database.add("x", np.eye(128)[0])
    database.save(db)
    wall = tmp_path / "wall.png"
    Image.new("RGB", (120, 90), (90, 100, 110)).save(wall)
    code, _, err = run(capsys, "identify", wall, "--db", db)
    assert code == 2 and "No face" in err


def test_module_entry_point_shows_help():
    done = subprocess.run(
        [sys.executable, "-m", "fr_utils", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "verify" in done.stdout and "identify" in done.stdout


def _two_people(path):
    """Save two LFW photos side by side (two faces of the same size: comparable)."""
    from PIL import Image

    canvas = Image.new("RGB", (500, 250))
    lfw = data_path("faces/lfw")
    for x, photo in (
        (0, "George_Clooney/George_Clooney_0006.jpg"),
        (250, "Martha_Burk/Martha_Burk_0002.jpg"),
    ):
        canvas.paste(Image.open(lfw / photo).convert("RGB"), (x, 0))
    canvas.save(path)
    return path


@pytest.mark.slow
def test_a_photo_of_two_comparable_faces_warns_or_is_refused(capsys, tmp_path):
    both = _two_people(tmp_path / "both.png")
    code, out, err = run(capsys, "--json", "verify", both, OBAMA_B)
    assert code in (0, 1) and "warning: 2 faces of comparable prominence" in err
    assert len(json.loads(out)["warnings"]) == 1
    code, _, err = run(capsys, "--ambiguous", "raise", "verify", both, OBAMA_B)
    assert code == 2 and "comparable prominence" in err and "Crop it" in err


@pytest.mark.slow
def test_identify_all_faces_skips_the_suit_and_jitters_are_an_option(capsys, tmp_path):
    db = tmp_path / "door.npz"
    code, _, _ = run(capsys, "enroll", "Barack Obama", OBAMA_B, "--db", db)
    assert code == 0
    code, out, _ = run(capsys, "--json", "identify", OBAMA_A, "--db", db, "--all-faces")
    faces = json.loads(out)["faces"]
    assert code == 0 and len(faces) == 1 and faces[0]["name"] == "Barack Obama"  # no suit
    _, plain, _ = run(capsys, "--json", "verify", OBAMA_A, OBAMA_B)
    _, jittered, _ = run(capsys, "--json", "--jitters", "3", "verify", OBAMA_A, OBAMA_B)
    plain, jittered = json.loads(plain)["distance"], json.loads(jittered)["distance"]
    assert plain != jittered and abs(plain - jittered) < 0.1


WEAK = str(data_path("faces/lfw/Gennifer_Flowers/Gennifer_Flowers_0001.jpg"))  # one face, 0.893


@pytest.mark.slow
def test_a_photo_whose_only_face_is_weak_warns_or_is_refused(capsys, tmp_path):
    db = tmp_path / "door.npz"
    code, out, err = run(capsys, "--json", "enroll", "Gennifer Flowers", WEAK, "--db", db)
    assert code == 0 and "warning: No confident face" in err
    assert len(json.loads(out)["warnings"]) == 1
    for extra in ([], ["--all-faces"]):  # no confident face to list: the weak subject
        code, out, err = run(capsys, "--json", "identify", WEAK, "--db", db, *extra)
        faces = json.loads(out)["faces"]
        assert code == 0 and len(faces) == 1 and faces[0]["name"] == "Gennifer Flowers"
        assert faces[0]["distance"] < 1e-5 and "No confident face" in err
    code, _, err = run(capsys, "--weak", "raise", "verify", WEAK, OBAMA_B)
    assert code == 2 and "No confident face" in err and "0.893" in err
