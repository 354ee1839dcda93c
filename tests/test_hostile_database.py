"""Issue 15, "FaceDatabase": no lost enrolments, explicit duplicates, files that cannot hurt.

The parallel-enrol test runs real processes through the real command line and the real lock;
only the face detector and encoder are replaced by precomputed encodings (MTCNN four times
would take a minute on the course machine and prove nothing more about the lock).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fr_utils import cli
from fr_utils.database import MAX_NAME_LENGTH, FaceDatabase, check_name
from workbook.atomic import exclusive_lock

ROOT = Path(__file__).resolve().parent.parent


def _rows(k: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(k, 128)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _database(**people) -> FaceDatabase:
    database = FaceDatabase()
    for seed, (name, k) in enumerate(people.items()):
        database.add(name.replace("_", " "), _rows(k, seed))
    return database


# ------------------------------------------------------------ parallel enrolments
_ENROL = """
import sys, time
from pathlib import Path
import numpy as np
import fr_utils
import fr_utils.database as database
from fr_utils import cli

db, name, photo, folder = sys.argv[1:5]


class Encoder:
    name, input_size, padding, threshold = "dlib_resnet_v1", 150, 0.25, 0.6


fr_utils.load_face_model = lambda model: Encoder()
seed = sum(map(ord, name))
database.photo_encodings = lambda images, encoder, **options: np.random.default_rng(seed).normal(
    size=(len(images), 128)
).astype(np.float32)
add = database.FaceDatabase.add


def slow_add(self, *args, **kwargs):
    time.sleep(0.4)  # between load and save: without the lock, the others load meanwhile
    return add(self, *args, **kwargs)


database.FaceDatabase.add = slow_add
Path(folder, "ready-" + name).touch()
while not Path(folder, "go").exists():
    time.sleep(0.002)
sys.exit(cli.main(["enroll", name, photo, "--db", db]))
"""


def test_parallel_enrolls_into_one_database_all_survive(tmp_path):
    script = tmp_path / "enrol.py"
    script.write_text(_ENROL)
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 64), (120, 100, 90)).save(photo)
    db = tmp_path / "door.npz"
    names = ["Ada", "Grace", "Alan", "Edsger"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.Popen(
            [sys.executable, str(script), str(db), name, str(photo), str(tmp_path)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{n}").exists() for n in names):
        assert time.monotonic() < deadline and all(r.poll() is None for r in runs), [
            r.communicate() for r in runs if r.poll() is not None
        ]
        time.sleep(0.01)
    (tmp_path / "go").touch()  # all four start their load-modify-save at once
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], outputs
    assert all("enrolled" in out for out, _ in outputs)
    assert FaceDatabase.load(db).identities == sorted(names)


def test_exclusive_lock_makes_a_second_writer_wait(tmp_path):
    dest = tmp_path / "door.npz"
    outcome = {}

    def second_writer():
        try:
            with exclusive_lock(dest, timeout=0.3):
                outcome["got"] = True
        except TimeoutError as error:
            outcome["error"] = str(error)

    with exclusive_lock(dest):
        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join(5)
    assert "got" not in outcome and "another process" in outcome["error"]
    with exclusive_lock(dest, timeout=0.3):  # released: free again
        pass


def test_editing_saves_only_when_the_block_succeeds(tmp_path):
    db = tmp_path / "door.npz"
    with FaceDatabase.editing(db) as database:
        database.add("Ada", _rows(1))
    with pytest.raises(RuntimeError), FaceDatabase.editing(db) as database:
        database.add("Grace", _rows(1, 1))
        raise RuntimeError("crashed half-way")
    assert FaceDatabase.load(db).identities == ["Ada"]


# ------------------------------------------------------------ duplicates
def test_enrolling_a_known_name_needs_add_or_replace():
    database = _database(Ada=2)
    before = database.encodings.copy()
    with pytest.raises(ValueError, match="already enrolled.*if_exists='add'.*'replace'"):
        database.add("Ada", _rows(1, 5))
    np.testing.assert_array_equal(database.encodings, before)  # unchanged
    database.add("Ada", _rows(1, 5), if_exists="add")
    assert database.num_encodings == 3
    database.add("Ada", _rows(1, 6), if_exists="replace")
    np.testing.assert_array_equal(database.encodings_of("Ada"), _rows(1, 6))
    with pytest.raises(ValueError, match="if_exists must be one of"):
        database.add("Ada", _rows(1), if_exists="merge")


class _Encoder:
    name, input_size, padding, threshold = "dlib_resnet_v1", 150, 0.25, 0.6


@pytest.fixture
def fake_faces(monkeypatch, tmp_path):
    """The CLI with precomputed encodings instead of MTCNN + the ResNet; returns a photo path."""
    import fr_utils
    from fr_utils import database

    monkeypatch.setattr(fr_utils, "load_face_model", lambda model: _Encoder())
    monkeypatch.setattr(
        database, "photo_encodings", lambda images, encoder, **options: _rows(len(images), 9)
    )
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 64), (120, 100, 90)).save(photo)
    return photo


def test_the_command_line_asks_for_add_or_replace(fake_faces, tmp_path, capsys):
    db = tmp_path / "door.npz"
    assert cli.main(["enroll", "Ada", fake_faces, "--db", db]) == 0
    assert cli.main(["enroll", "Ada", fake_faces, "--db", db]) == 2
    err = capsys.readouterr().err
    assert "already enrolled" in err and "--add" in err and "--replace" in err
    assert FaceDatabase.load(db).num_encodings == 1
    assert cli.main(["enroll", "Ada", fake_faces, fake_faces, "--db", db, "--add"]) == 0
    assert FaceDatabase.load(db).num_encodings == 3
    assert cli.main(["enroll", "Ada", fake_faces, "--db", db, "--replace"]) == 0
    assert FaceDatabase.load(db).num_encodings == 1
    assert cli.main(["enroll", "Ada", fake_faces, "--db", db, "--add", "--replace"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


# ------------------------------------------------------------ names
@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("Ada\x00", "control characters"),
        ("Ada\nLovelace", "control characters"),
        ("\x1b[31mAda", "control characters"),
        ("Ada\u2028Lovelace", "control characters"),
        ("", "non-empty"),
        ("   ", "non-empty"),
        (" Ada", "spaces"),
        ("A" * (MAX_NAME_LENGTH + 1), f"at most {MAX_NAME_LENGTH}"),
        (7, "string"),
    ],
)
def test_names_are_validated_at_enrolment(name, match, tmp_path):
    database = _database(Grace=1)
    with pytest.raises(ValueError, match=match):
        database.add(name, _rows(1))
    assert database.identities == ["Grace"]
    database.save(tmp_path / "db.npz")  # the file stays loadable
    assert FaceDatabase.load(tmp_path / "db.npz").identities == ["Grace"]


def test_unusual_but_valid_names_round_trip(tmp_path):
    names = ["Zoë Ångström", "李小龙", "O'Brien-Smith", "👩‍🔬 Marie", "A" * MAX_NAME_LENGTH]
    database = FaceDatabase()
    for seed, name in enumerate(names):
        database.add(check_name(name), _rows(1, seed))
    database.save(tmp_path / "db.npz")
    assert FaceDatabase.load(tmp_path / "db.npz").identities == sorted(names)


def test_a_name_ending_in_nul_is_refused_by_the_command_line(fake_faces, tmp_path, capsys):
    db = tmp_path / "door.npz"
    assert cli.main(["enroll", "Ada\x00", fake_faces, "--db", db]) == 2
    assert "control characters" in capsys.readouterr().err and not db.exists()


# ------------------------------------------------------------ hostile files
def _write_npz(path, **arrays):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in arrays.items():
            archive.writestr(f"{name}.npy", data)


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array))
    return buffer.getvalue()


def test_nan_rows_are_refused_even_with_a_recomputed_checksum(tmp_path):
    database = _database(Ada=1, Grace=1)
    database._encodings[1, 3] = np.nan  # a forged file: the checksum is computed over the NaN
    database.save(tmp_path / "db.npz")
    with pytest.raises(ValueError, match="'Grace' contain NaN or infinite"):
        FaceDatabase.load(tmp_path / "db.npz")
    with pytest.raises(ValueError, match="NaN or infinite"):
        FaceDatabase().add("Ada", np.full(128, np.inf))


def test_a_small_file_declaring_huge_arrays_is_refused_before_reading(tmp_path):
    """2 MB on disk, 2 GiB declared in the .npy header: refused without allocating it."""
    rows = 1 << 22  # 4 Mi rows x 128 float32 = 2 GiB
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (rows, 128)}
    )
    path = tmp_path / "bomb.npz"
    _write_npz(
        path,
        format_version=_npy(1),
        encoder_name=_npy("dlib_resnet_v1"),
        names=_npy(np.array(["a"])),
        encodings=header.getvalue() + bytes(2_000_000),
        checksum=_npy("0" * 64),
    )
    assert path.stat().st_size < 3_000_000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="declares .*refused before reading"):
            FaceDatabase.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000  # numpy would have allocated the 2 GiB first


def test_a_zip_bomb_database_is_refused_before_reading(tmp_path):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(  # 51 MB of zeros deflate to about 50 kB
        path,
        format_version=np.array(1),
        encoder_name=np.array("dlib_resnet_v1"),
        names=np.array(["a"] * 100_000),
        encodings=np.zeros((100_000, 128), np.float32),
        checksum=np.array("0" * 64),
    )
    with pytest.raises(ValueError, match="zip bomb"):
        FaceDatabase.load(path)


def test_a_database_damaged_in_one_byte_is_a_value_error(tmp_path):
    """A flipped byte in the zip directory made numpy raise NotImplementedError / RuntimeError."""
    path = tmp_path / "db.npz"
    _database(Ada=2).save(path)
    data = path.read_bytes()
    directory = data.index(b"PK\x01\x02")
    for offset, value in ((6, 0xFF), (8, 0x01)):  # "version needed", "encrypted" flag
        damaged = bytearray(data)
        damaged[directory + offset] = value
        (tmp_path / "bad.npz").write_bytes(bytes(damaged))
        with pytest.raises(ValueError, match="bad.npz: not a readable face database"):
            FaceDatabase.load(tmp_path / "bad.npz")


def test_folders_are_not_databases(tmp_path):
    (tmp_path / "folder.npz").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        FaceDatabase.load(tmp_path / "folder.npz")
    with pytest.raises(ValueError, match="is a folder"):
        _database(Ada=1).save(tmp_path / "folder.npz")


# ------------------------------------------------------------ saving
def test_save_removes_stale_temporary_files(tmp_path):
    db = tmp_path / "door.npz"
    stale, fresh = tmp_path / ".dead0001.tmp.door.npz", tmp_path / ".live0002.tmp.door.npz"
    stale.write_bytes(b"x" * 1000)
    fresh.write_bytes(b"y")
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    _database(Ada=1).save(db)
    assert not stale.exists()  # a killed save's leftover
    assert fresh.exists()  # maybe another process writing right now


def test_save_keeps_the_file_mode(tmp_path):
    db = tmp_path / "door.npz"
    _database(Ada=1).save(db)
    db.chmod(0o640)
    _database(Ada=1, Grace=1).save(db)
    assert db.stat().st_mode & 0o777 == 0o640
    assert FaceDatabase.load(db).identities == ["Ada", "Grace"]


def test_save_through_a_symbolic_link_keeps_the_link(tmp_path):
    target = tmp_path / "shared" / "door.npz"
    target.parent.mkdir()
    _database(Ada=1).save(target)
    link = tmp_path / "door.npz"
    link.symlink_to(target)
    _database(Ada=1, Alan=1).save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert FaceDatabase.load(target).identities == ["Ada", "Alan"]
    with FaceDatabase.editing(link) as database:  # locks and saves the target as well
        database.add("Grace", _rows(1, 3))
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert FaceDatabase.load(target).identities == ["Ada", "Alan", "Grace"]
