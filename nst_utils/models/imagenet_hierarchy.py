"""Which ImageNet classes are related: the WordNet noun hierarchy, read offline.

Every ImageNet class is a WordNet 3.0 noun *synset* (a set of synonyms standing for one
concept). Its id, the **wnid**, is ``"n"`` followed by the synset's 8-digit *offset*, and
that offset is literally the byte position of the synset's line in WordNet's ``data.noun``
file: ``n02084071`` (dog) is the line that starts at byte 2,084,071. So this module needs no
index and no parsing of the whole 15 MB file; it seeks to the lines it needs.

A line lists the synset's words and its *pointers* to other synsets; ``@`` (hypernym, "is a
kind of") and ``@i`` (instance hypernym, "is an instance of") lead up the hierarchy towards
the single root, ``entity`` (n00001740)::

    Chihuahua -> toy dog -> dog -> canine -> carnivore -> placental -> mammal -> vertebrate
      -> chordate -> animal -> organism -> living thing -> whole -> object
      -> physical entity -> entity

Some synsets have two hypernyms (dog is also a domestic animal), so the hierarchy is a
directed acyclic graph and a synset can have several paths to the root. `Hierarchy.depth` is
the length of the *longest* one (entity has depth 0, dog 13), as in NLTK's ``max_depth``.

Where the data comes from (`wordnet_dir`): the folder in ``$WORDNET_DIR``, else the Debian
package ``wordnet-base`` (``apt-get install wordnet-base`` puts WordNet 3.0's ``data.noun`` and
``index.noun`` in ``/usr/share/wordnet/``), else a WordNet 3.0 ``dict`` folder under the
course data (``data_path("wordnet")``). WordNet 3.0 is (c) Princeton University, under the
WordNet 3.0 licence (free use, with its copyright notice kept); cite: George A. Miller (1995),
"WordNet: A Lexical Database for English", Communications of the ACM 38(11): 39-41.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from workbook.resources import DataNotFoundError, data_path

__all__ = [
    "ROOT",
    "Hierarchy",
    "Synset",
    "WordNetNotFoundError",
    "hierarchy",
    "wordnet_dir",
]

#: wnid of ``entity``, the root of WordNet's noun hierarchy.
ROOT = "n00001740"
# Pointer symbols that lead to a more general synset.
_HYPERNYM_POINTERS = ("@", "@i")
_SYSTEM_DIRS = ("/usr/share/wordnet", "/usr/local/WordNet-3.0/dict", "/usr/share/wordnet/dict")


class WordNetNotFoundError(FileNotFoundError):
    """Raised when no WordNet 3.0 database can be found (the message says how to install it)."""


def _candidates() -> list[Path]:
    found = [Path(os.environ["WORDNET_DIR"])] if os.environ.get("WORDNET_DIR") else []
    found += [Path(path) for path in _SYSTEM_DIRS]
    try:
        found.append(data_path("wordnet"))
    except DataNotFoundError:
        pass
    return found


def wordnet_dir() -> Path:
    """Return the first folder holding WordNet 3.0's ``data.noun`` (see the module docstring).

    Raises:
        WordNetNotFoundError: none found; the message lists where it looked and the fix.
    """
    candidates = _candidates()
    for folder in candidates:
        if (folder / "data.noun").is_file():
            return folder
    raise WordNetNotFoundError(
        "WordNet 3.0 (data.noun) not found in: "
        + ", ".join(str(folder) for folder in candidates)
        + ". Fix: `sudo apt-get install wordnet-base` (Debian/Ubuntu; files land in"
        " /usr/share/wordnet), or set WORDNET_DIR to a WordNet 3.0 `dict` folder."
    )


@dataclass(frozen=True)
class Synset:
    """One noun synset of WordNet 3.0.

    Attributes:
        wnid: ``"n"`` + 8-digit offset, e.g. ``"n02084071"``.
        lemmas: its words, e.g. ``("dog", "domestic_dog", "Canis_familiaris")``.
        hypernyms: wnids of the more general synsets it points to (``@`` and ``@i``).
        gloss: the definition and examples.
    """

    wnid: str
    lemmas: tuple[str, ...]
    hypernyms: tuple[str, ...]
    gloss: str

    @property
    def label(self) -> str:
        """The first lemma, readable: ``"dog"``, ``"toy dog"``."""
        return self.lemmas[0].replace("_", " ")


def _parse_line(line: str) -> Synset:
    """Parse one ``data.noun`` line (format: WordNet's ``wndb(5)`` manual page)."""
    fields, _, gloss = line.partition(" | ")
    tokens = fields.split()
    n_words = int(tokens[3], 16)
    lemmas = tuple(tokens[4 : 4 + 2 * n_words : 2])
    position = 4 + 2 * n_words
    n_pointers = int(tokens[position])
    pointers = [tokens[position + 1 + 4 * i : position + 5 + 4 * i] for i in range(n_pointers)]
    hypernyms = tuple(
        "n" + offset
        for symbol, offset, pos, _ in pointers
        if symbol in _HYPERNYM_POINTERS and pos == "n"
    )
    return Synset("n" + tokens[0], lemmas, hypernyms, gloss.strip())


def _check_wnid(wnid: str) -> int:
    if not (isinstance(wnid, str) and len(wnid) == 9 and wnid[0] == "n" and wnid[1:].isdigit()):
        raise ValueError(f"{wnid!r} is not a WordNet noun id ('n' + 8 digits, e.g. 'n02084071')")
    return int(wnid[1:])


class Hierarchy:
    """The WordNet 3.0 noun hierarchy, read on demand from ``data.noun``.

    Args:
        directory: a folder with ``data.noun`` (and ``index.noun`` for `name`); default
            `wordnet_dir`.
    """

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory) if directory is not None else wordnet_dir()
        self._data = self.directory / "data.noun"
        if not self._data.is_file():
            raise WordNetNotFoundError(f"{self._data} does not exist; see wordnet_dir()")
        self._synsets: dict[str, Synset] = {}
        self._paths: dict[str, tuple[tuple[str, ...], ...]] = {}

    def synset(self, wnid: str) -> Synset:
        """Read the synset ``wnid`` (its line starts at byte ``int(wnid[1:])`` of data.noun).

        Raises:
            ValueError: not a wnid, or no synset starts at that offset (not WordNet 3.0?).
        """
        if wnid not in self._synsets:
            self._synsets[wnid] = self._read(wnid)
        return self._synsets[wnid]

    def _read(self, wnid: str) -> Synset:
        offset = _check_wnid(wnid)
        with open(self._data, "rb") as handle:
            handle.seek(offset)
            line = handle.readline().decode("utf-8", errors="replace")
        if not line.startswith(wnid[1:] + " "):
            raise ValueError(
                f"No synset {wnid} in {self._data}: ImageNet wnids are WordNet 3.0 offsets; is"
                " this another WordNet version?"
            )
        return _parse_line(line)

    def hypernym_paths(self, wnid: str) -> tuple[tuple[str, ...], ...]:
        """Every path from the root down to ``wnid``, each ``(ROOT, ..., wnid)``."""
        if wnid not in self._paths:
            parents = self.synset(wnid).hypernyms
            self._paths[wnid] = tuple(
                path + (wnid,) for parent in parents for path in self.hypernym_paths(parent)
            ) or ((wnid,),)
        return self._paths[wnid]

    def ancestors(self, wnid: str) -> frozenset[str]:
        """``wnid`` and every synset above it (the union of its `hypernym_paths`)."""
        return frozenset(node for path in self.hypernym_paths(wnid) for node in path)

    def depth(self, wnid: str) -> int:
        """Length of the longest path from the root (``entity`` is 0, ``dog`` 13)."""
        return max(len(path) for path in self.hypernym_paths(wnid)) - 1

    def lowest_common_ancestor(self, wnids: Iterable[str]) -> str:
        """The deepest synset that is ``wnid`` or above it for every one of ``wnids``.

        Raises:
            ValueError: ``wnids`` is empty.
        """
        wnids = list(wnids)
        if not wnids:
            raise ValueError("lowest_common_ancestor needs at least one wnid")
        shared = frozenset.intersection(*(self.ancestors(w) for w in wnids))
        return max(sorted(shared), key=self.depth)

    def common_ancestor_depth(self, wnids: Iterable[str]) -> int:
        """`depth` of the `lowest_common_ancestor`: how specific what ``wnids`` share is.

        Two dog breeds give 13 (dog) or more, a dog and a cat 11 (carnivore), a dog and a
        car 4 (whole), identical classes their own depth.
        """
        return self.depth(self.lowest_common_ancestor(wnids))

    def largest_group(self, wnids: Iterable[str], min_depth: int) -> tuple[str | None, int]:
        """The synset at depth >= ``min_depth`` that covers the most of ``wnids``.

        A measure of how coherent a set of classes is, e.g. the predicted classes of a unit's
        top-9 images: Chihuahua, beagle, wolf, tabby cat, car give ``(dog, 2)`` with
        ``min_depth=13``, ``(carnivore, 4)`` with ``min_depth=11`` and ``(object, 5)`` with
        ``min_depth=2``.

        Returns:
            ``(wnid, count)``; ``(None, 0)`` when no synset that deep covers any of them.
            Ties go to the deeper synset, then the smaller wnid.
        """
        counts = Counter(node for wnid in wnids for node in self.ancestors(wnid))
        deep = [(count, self.depth(node), node) for node, count in counts.items()]
        deep = [entry for entry in deep if entry[1] >= min_depth]
        if not deep:
            return None, 0
        count, _, node = max(deep, key=lambda entry: (entry[0], entry[1], _negated(entry[2])))
        return node, count

    def name(self, wnid: str) -> str:
        """NLTK-style name, first lemma + sense number: ``"dog.n.01"`` for n02084071."""
        lemma = self.synset(wnid).lemmas[0].lower()
        senses = _index_noun(self.directory).get(lemma, ())
        if wnid[1:] not in senses:
            raise ValueError(f"{lemma!r} has no sense {wnid} in {self.directory / 'index.noun'}")
        return f"{lemma}.n.{senses.index(wnid[1:]) + 1:02d}"


def _negated(wnid: str) -> int:
    return -int(wnid[1:])


@cache
def _index_noun(directory: Path) -> dict[str, tuple[str, ...]]:
    """``{lemma: (offset of sense 1, sense 2, ...)}`` from ``index.noun``."""
    senses = {}
    with open(directory / "index.noun", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(" "):  # licence header
                continue
            tokens = line.split()
            n_senses, n_pointers = int(tokens[2]), int(tokens[3])
            first = 4 + n_pointers + 2
            senses[tokens[0]] = tuple(tokens[first : first + n_senses])
    return senses


@cache
def hierarchy() -> Hierarchy:
    """The `Hierarchy` of `wordnet_dir`, created once per process."""
    return Hierarchy()
