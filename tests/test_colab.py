"""On Google Colab: the workbook installed from a wheel finds its manifests, and the setup
fetches the course data once into a folder that `workbook.data_path` finds.

Colab itself is simulated: its environment variable, a mocked `fetch`, and a wheel built from
this checkout installed into a fresh virtual environment (its dependencies come from the
running one; nothing is downloaded).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from unittest import mock

import pytest

from workbook import setup as nbsetup
from workbook.resources import manifest_path

ROOT = Path(__file__).resolve().parent.parent
COLAB = {"COLAB_RELEASE_TAG": "release-colab_20260101-060000_RC00"}


@pytest.fixture(autouse=True)
def _environment_restored():
    """`prepare_colab` sets WORKBOOK_DATA in os.environ: undo it after every test."""
    with mock.patch.dict(os.environ):
        yield


def test_in_colab_reads_colabs_variable():
    assert nbsetup.in_colab(COLAB)
    assert not nbsetup.in_colab({"HOME": "/root"})


def test_prepare_colab_fetches_the_data_once_and_points_workbook_data_at_it(tmp_path, monkeypatch):
    folder = tmp_path / "colab-data"
    monkeypatch.setattr(nbsetup, "COLAB_DATA", str(folder))
    monkeypatch.delenv("WORKBOOK_DATA", raising=False)
    with mock.patch("workbook.fetch_data.fetch", return_value=[]) as fetch:
        assert nbsetup.prepare_colab() == folder
        assert os.environ["WORKBOOK_DATA"] == str(folder)
        (target, manifest), _ = fetch.call_args
        assert target == folder and manifest["download"] and manifest["final"]
        # the next notebook on the same machine: the stamp says the folder is complete
        assert nbsetup.prepare_colab() == folder
        assert fetch.call_count == 1
        # a new data manifest (the workbook was updated): fetch again
        (folder / ".downloads" / "complete.sha256").write_text("0" * 64 + "\n")
        nbsetup.prepare_colab()
        assert fetch.call_count == 2


def test_prepare_colab_uses_the_folder_workbook_data_names(tmp_path, monkeypatch):
    drive = tmp_path / "drive" / "course-data"  # e.g. on a mounted Google Drive
    monkeypatch.setenv("WORKBOOK_DATA", str(drive))
    with mock.patch("workbook.fetch_data.fetch", return_value=["a.jpg differs"]) as fetch:
        assert nbsetup.prepare_colab() == drive
    assert fetch.call_args.args[0] == drive and drive.is_dir()


def test_a_failed_download_leaves_no_stamp(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBOOK_DATA", str(tmp_path))
    with mock.patch("workbook.fetch_data.fetch", side_effect=OSError("network down")):
        with pytest.raises(OSError, match="network down"):
            nbsetup.prepare_colab()
    assert not (tmp_path / ".downloads" / "complete.sha256").exists()


def test_setup_notebook_prepares_colab_only_on_colab(monkeypatch):
    for environ, expected in ((COLAB, 1), ({}, 0)):
        monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
        for key, value in environ.items():
            monkeypatch.setenv(key, value)
        with mock.patch.object(nbsetup, "prepare_colab") as prepare:
            nbsetup.setup_notebook()
        assert prepare.call_count == expected


def test_the_checkout_reads_its_own_manifests():
    assert manifest_path("weights") == ROOT / "weights" / "manifest.toml"
    assert manifest_path("data") == ROOT / "data" / "manifest.toml"
    with pytest.raises(ValueError, match="Unknown manifest"):
        manifest_path("models")


#: What the fresh environment checks, with only the installed wheel as the workbook.
_IN_THE_WHEEL = textwrap.dedent(
    """
    import json, os, subprocess, sys
    from pathlib import Path
    import workbook
    from workbook import fetch_data, resources
    report = {
        "workbook": workbook.__file__,
        "checkout": resources.source_checkout(),
        "weights_manifest": str(resources.manifest_path("weights")),
        "data_manifest": str(resources.manifest_path("data")),
        "downloads": len(fetch_data.load_manifest()["download"]),
        "dlib": str(resources.weights_path("dlib_resnet_v1")),
    }
    try:
        resources.data_path("faces/lfw/pairs.txt")
    except resources.DataNotFoundError as error:
        report["without_data"] = str(error)
    os.environ["WORKBOOK_DATA"] = sys.argv[1]
    report["with_data"] = str(resources.data_path("faces/lfw/pairs.txt"))
    cli = subprocess.run([sys.executable, "-m", "workbook.fetch_data"], capture_output=True,
                         text=True, env={**os.environ, "WORKBOOK_OFFLINE": "1"})
    report["cli"] = [cli.returncode, cli.stderr]
    print(json.dumps(report))
    """
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of this checkout's packaging files (no network)."""
    src = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("fr_utils", "nst_utils", "conv_utils", "workbook"):
        shutil.copytree(ROOT / package, src / package, ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("weights/manifest.toml", "data/manifest.toml"):
        (src / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-index"]
    command += ["--no-build-isolation", "-q", "-w", str(dist)]
    subprocess.run(command, check=True, capture_output=True)
    (found,) = dist.glob("*.whl")
    return found


def test_a_wheel_carries_both_manifests(wheel):
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        packaged = {
            name: archive.read(f"workbook/_manifests/{name}")
            for name in ("weights.toml", "data.toml")
        }
        assert not [n for n in archive.namelist() if n.startswith(("weights/", "data/"))]
    assert packaged["weights.toml"] == (ROOT / "weights" / "manifest.toml").read_bytes()
    assert packaged["data.toml"] == (ROOT / "data" / "manifest.toml").read_bytes()


def test_the_installed_wheel_works_without_a_checkout(wheel, tmp_path):
    """A fresh venv: the wheel installed into it, the other packages from this environment."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
        + ["--target", purelib, str(wheel)],
        check=True,
        capture_output=True,
    )
    # the running environment's packages, without running its .pth files (which would put
    # this checkout's editable install back on the path)
    (Path(purelib) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    from workbook import data_path

    shared = str(data_path("faces/lfw/pairs.txt").parents[2])  # the course data folder
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "WORKBOOK_DATA")}
    run = subprocess.run(
        [python, "-c", _IN_THE_WHEEL, shared],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["workbook"].startswith(purelib), report["workbook"]
    assert report["checkout"] is None
    for key in ("weights_manifest", "data_manifest"):
        assert Path(report[key]).parent == Path(purelib) / "workbook" / "_manifests"
    assert report["downloads"] > 10 and report["dlib"].endswith(".dat")
    assert "WORKBOOK_DATA" in report["without_data"] and "make data" not in (report["without_data"])
    assert report["with_data"] == str(Path(shared) / "faces" / "lfw" / "pairs.txt")
    assert report["cli"][0] == 2 and "pass --root DIR" in report["cli"][1]
