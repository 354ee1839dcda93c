"""The repository URL lives in one place, ``[tool.workbook] repository`` in pyproject.toml.

A fork changes that line and runs ``python tools/notebooks.py sync``: every Colab badge and
setup cell then points at the fork, and so do the course website's buttons.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import project  # noqa: E402

ORIGINAL = project.repository_url()
FORK = "https://github.com/a-teacher/cnn-week-fork"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


def _fork_checkout(tmp_path: Path, url: str) -> Path:
    """A copy of what the build tools need, with ``url`` as the repository."""
    for folder in ("tools", "workbook", "notebooks/src"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=_IGNORE)
    text = (ROOT / "pyproject.toml").read_text()
    line = f'repository = "{ORIGINAL}"'
    assert text.count(line) == 1, "pyproject.toml must say the repository exactly once"
    (tmp_path / "pyproject.toml").write_text(text.replace(line, f'repository = "{url}"'))
    return tmp_path


def test_a_fork_changes_one_line_and_sync_updates_every_badge_and_setup_cell(tmp_path):
    fork = _fork_checkout(tmp_path, FORK)
    run = subprocess.run(
        [sys.executable, "tools/notebooks.py", "sync"],
        cwd=fork,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    sources = sorted((fork / "notebooks" / "src").glob("[0-9][0-9]_*.py"))
    assert len(sources) == len(list((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py")))
    assert run.stdout.count("synced ") == len(sources)
    owner_name = FORK.removeprefix("https://github.com/")
    for source in sources:
        text = source.read_text()
        assert ORIGINAL not in text and ORIGINAL.removeprefix("https://") not in text, source.name
        nb = jupytext.read(source, fmt="py:percent")
        setup = [c for c in nb.cells if "setup" in c.metadata.get("tags", [])]
        assert len(setup) == 1 and f'url = "git+{FORK}"' in setup[0].source, source.name
        badges = re.findall(r"\(https://colab\.research\.google\.com/github/([^)]*)\)", text)
        assert badges == [f"{owner_name}/blob/main/notebooks/{source.stem}.ipynb"], source.name
    # only the generated parts changed: the rest of every source is as it was
    for source in sources:
        before = (ROOT / "notebooks" / "src" / source.name).read_text().splitlines()
        after = source.read_text().splitlines()
        changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert len(changed) == 2, (source.name, changed)  # the badge line and the pip URL line
    # the course website's buttons read the same line
    book_url = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, 'tools'); import book;"
         " print(book.repo_url())"],
        cwd=fork, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert book_url == FORK


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('repository = "https://github.com/o/n/"', "https://github.com/o/n"),
        ('repository = "https://github.com/o/n.git"', "https://github.com/o/n"),
    ],
)
def test_repository_url_is_normalised(tmp_path, value, expected):
    path = tmp_path / "pyproject.toml"
    path.write_text(f"[tool.workbook]\n{value}\n")
    assert project.repository_url(path) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[project]\nname = "x"\n', r"no \[tool.workbook\] repository"),
        ('[tool.workbook]\nrepository = "https://gitlab.com/o/n"\n', "must be a GitHub"),
        ('[tool.workbook]\nrepository = "github.com/o/n"\n', "must be a GitHub"),
    ],
)
def test_a_missing_or_non_github_repository_is_refused(tmp_path, text, message):
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        project.repository_url(path)


def test_nothing_else_spells_the_repository_url():
    """The URL is typed only in pyproject.toml; notebooks carry generated copies of it."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    needle = ORIGINAL.removeprefix("https://github.com/")
    generated = ("notebooks/",)
    found = [
        name
        for name in tracked
        if not name.startswith(generated)
        and name not in ("pyproject.toml", "tests/test_repository_url.py")
        and (ROOT / name).is_file()
        and needle in (ROOT / name).read_text(errors="ignore")
    ]
    assert not found, f"the repository URL is written in {found}; read it from pyproject.toml"
