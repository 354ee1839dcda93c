"""workbook.atomic: whole files or nothing, permissions and links kept, no litter."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from workbook.atomic import atomic_open, atomic_path, remove_stale


def _litter(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp." in p.name)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    dest = tmp_path / "db.npz"
    dest.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_open(dest) as out:
        out.write(b"half of the new")
        raise RuntimeError("killed while writing")
    assert dest.read_bytes() == b"old" and _litter(tmp_path) == []


def test_new_files_get_the_usual_permissions_and_rewrites_keep_theirs(tmp_path):
    dest = tmp_path / "scores.csv"
    with atomic_open(dest, "w", newline="") as out:
        out.write("a,b\n")
    umask = os.umask(0)
    os.umask(umask)
    assert dest.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600
    dest.chmod(0o640)
    with atomic_open(dest) as out:
        out.write(b"new")
    assert dest.stat().st_mode & 0o777 == 0o640 and dest.read_bytes() == b"new"


def test_writing_through_a_symbolic_link_replaces_the_target_not_the_link(tmp_path):
    target = tmp_path / "real" / "door.npz"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "door.npz"
    link.symlink_to(target)
    with atomic_open(link) as out:
        out.write(b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"


def test_atomic_path_keeps_the_extension_for_writers_that_check_it(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    dest = tmp_path / "cache" / "net.weights.h5"
    with atomic_path(dest) as temp:
        assert temp.name.endswith(".net.weights.h5") and temp.parent == dest.parent
        model.save_weights(temp)  # Keras refuses names not ending in .weights.h5
    assert dest.is_file() and _litter(dest.parent) == []
    again = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    again.load_weights(dest)
    np.testing.assert_array_equal(again.get_weights()[0], model.get_weights()[0])


def test_remove_stale_deletes_only_old_temporaries_of_that_file(tmp_path):
    dest = tmp_path / "db.npz"
    old, fresh, other = (tmp_path / n for n in (".ab.tmp.db.npz", ".cd.tmp.db.npz", ".ef.tmp.x"))
    for path in (old, fresh, other):
        path.write_bytes(b"x")
    hours_ago = time.time() - 7200
    os.utime(old, (hours_ago, hours_ago))
    os.utime(other, (hours_ago, hours_ago))
    assert remove_stale(dest) == [old]
    assert fresh.exists() and other.exists() and not old.exists()


def test_only_whole_file_modes_are_accepted(tmp_path):
    with pytest.raises(ValueError, match="whole new file"), atomic_open(tmp_path / "a", "ab"):
        pass
