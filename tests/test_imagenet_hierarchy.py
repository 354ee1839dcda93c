"""The WordNet noun hierarchy of the ImageNet classes (nst_utils.models.imagenet_hierarchy).

Needs WordNet 3.0's data files: ``apt-get install wordnet-base`` (see the module docstring).
"""

from __future__ import annotations

import csv

import pytest

from nst_utils.models import imagenet_hierarchy
from nst_utils.models.imagenet_hierarchy import ROOT, Hierarchy, WordNetNotFoundError
from workbook.resources import data_path

DOG, CARNIVORE, BIRD = "n02084071", "n02075296", "n01503061"
CHIHUAHUA, BEAGLE, WOLF, TABBY, SPORTS_CAR = (
    "n02085620",
    "n02088364",
    "n02114367",
    "n02123045",
    "n04285008",
)


@pytest.fixture(scope="module")
def wordnet():
    return imagenet_hierarchy.hierarchy()


@pytest.fixture(scope="module")
def imagenet_wnids():
    with open(data_path("imagenet_samples/classes.csv"), newline="") as handle:
        return [row["wnid"] for row in csv.DictReader(handle)]


def test_every_imagenet_class_is_a_synset_with_paths_to_entity(wordnet, imagenet_wnids):
    for wnid in imagenet_wnids:
        paths = wordnet.hypernym_paths(wnid)
        assert paths and all(path[0] == ROOT and path[-1] == wnid for path in paths), wnid


def test_the_wnid_is_the_byte_offset_of_the_synset(wordnet):
    dog = wordnet.synset(DOG)
    assert dog.lemmas[:2] == ("dog", "domestic_dog")
    assert dog.label == "dog" and "Canis" in dog.gloss
    assert wordnet.name(DOG) == "dog.n.01"
    with pytest.raises(ValueError, match="another WordNet version"):
        wordnet.synset("n02084072")  # one byte into the dog line
    with pytest.raises(ValueError, match="8 digits"):
        wordnet.synset("dog")


def test_all_118_dog_breeds_meet_at_dog(wordnet, imagenet_wnids):
    breeds = imagenet_wnids[151:269]  # the dog classes of the standard order
    assert wordnet.synset(breeds[0]).label == "Chihuahua"
    assert wordnet.lowest_common_ancestor(breeds) == DOG
    assert all(DOG in wordnet.ancestors(wnid) for wnid in breeds)
    assert not any(DOG in wordnet.ancestors(wnid) for wnid in imagenet_wnids[269:281])  # wolves...


def test_common_ancestor_depth_grows_with_relatedness(wordnet):
    assert wordnet.depth(ROOT) == 0 and wordnet.depth(DOG) == 13
    assert wordnet.lowest_common_ancestor([CHIHUAHUA, TABBY]) == CARNIVORE
    assert wordnet.common_ancestor_depth([CHIHUAHUA, BEAGLE]) == 13
    assert wordnet.common_ancestor_depth([CHIHUAHUA, TABBY]) == wordnet.depth(CARNIVORE) == 11
    assert wordnet.common_ancestor_depth([CHIHUAHUA, SPORTS_CAR]) < 11
    assert wordnet.common_ancestor_depth([CHIHUAHUA]) == wordnet.depth(CHIHUAHUA)


def test_largest_group_counts_the_classes_under_one_deep_synset(wordnet):
    wnids = [CHIHUAHUA, BEAGLE, WOLF, TABBY, SPORTS_CAR]
    assert wordnet.largest_group(wnids, min_depth=13) == (DOG, 2)
    assert wordnet.largest_group(wnids, min_depth=11) == (CARNIVORE, 4)
    assert wordnet.largest_group([SPORTS_CAR], min_depth=30) == (None, 0)


def test_missing_wordnet_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(imagenet_hierarchy, "_SYSTEM_DIRS", ())
    monkeypatch.setenv("WORDNET_DIR", str(tmp_path))
    monkeypatch.setattr(imagenet_hierarchy, "data_path", lambda name: tmp_path / "none" / name)
    with pytest.raises(WordNetNotFoundError, match="apt-get install wordnet-base"):
        imagenet_hierarchy.wordnet_dir()
    with pytest.raises(WordNetNotFoundError):
        Hierarchy(tmp_path)


def test_wordnet_dir_prefers_the_environment_variable(monkeypatch, wordnet, tmp_path):
    (tmp_path / "data.noun").write_bytes((wordnet.directory / "data.noun").read_bytes())
    monkeypatch.setenv("WORDNET_DIR", str(tmp_path))
    assert imagenet_hierarchy.wordnet_dir() == tmp_path
    assert Hierarchy(tmp_path).lowest_common_ancestor([CHIHUAHUA, BEAGLE]) == DOG
