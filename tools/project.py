"""What ``pyproject.toml`` says about the workbook that the build tools need: where it is published.

The repository URL is written in one place, ``[tool.workbook] repository`` in ``pyproject.toml``.
The build tools read it here: `tools/notebooks.py` writes it into every notebook's "Open in
Colab" badge and setup cell (``python tools/notebooks.py sync``), and `tools/book.py` points the
course website's launch and repository buttons at it. Nothing reads it at run time: an
installed workbook does not need to know where it came from, and the notebooks carry the URL
in their setup cells. A fork edits that one line and runs ``python tools/notebooks.py sync``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
#: What a published repository's address looks like (the Colab badge needs a GitHub one).
_GITHUB = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+")


def repository_url(pyproject: Path = PYPROJECT) -> str:
    """The GitHub address of the workbook, from ``[tool.workbook] repository``.

    Args:
        pyproject: the ``pyproject.toml`` to read (this checkout's by default).

    Returns:
        ``https://github.com/OWNER/NAME``, without a trailing slash or ``.git``.

    Raises:
        ValueError: the key is missing, or is not a GitHub repository address (Colab opens
            notebooks from GitHub only).
    """
    with open(pyproject, "rb") as handle:
        settings = tomllib.load(handle).get("tool", {}).get("workbook", {})
    url = settings.get("repository")
    if not isinstance(url, str):
        raise ValueError(
            f'{pyproject} has no [tool.workbook] repository = "https://github.com/OWNER/NAME":'
            " add it; the notebooks' Colab badges and setup cells are made from it."
        )
    url = url.strip().rstrip("/").removesuffix(".git")
    if not _GITHUB.fullmatch(url):
        raise ValueError(
            f"[tool.workbook] repository in {pyproject} is {url!r}; it must be a GitHub"
            " repository address, https://github.com/OWNER/NAME (Colab opens notebooks from"
            " GitHub)."
        )
    return url
