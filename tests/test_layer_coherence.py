"""Notebook 06's experiment: the ImageNet photos, the maxima cache and the coherence measure.

The coherence tests read WordNet 3.0 (``apt-get install wordnet-base``, as in
tests/test_imagenet_hierarchy.py); the photo tests read ``imagenet_samples`` from the data folder.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from PIL import Image

from nst_utils.backbone import Backbone
from nst_utils.layers import cache as cache_module
from nst_utils.layers import coherence as coh
from nst_utils.layers.cache import cache_key, cache_path, cached_channel_maxima
from nst_utils.layers.imagenet_photos import _upscaled, load_imagenet_photos
from nst_utils.layers.plots import plot_coherence
from nst_utils.layers.receptive_field import ReceptiveField
from nst_utils.layers.top_patches import ChannelMaxima
from nst_utils.models.imagenet_hierarchy import hierarchy
from workbook.images import load_image
from workbook.resources import data_path, is_sealed

DOG, BIRD, KEYBOARD = "n02084071", "n01503061", "n03614007"
CHIHUAHUA, BEAGLE, WOLF, TABBY, SPORTS_CAR = (
    "n02085620",
    "n02088364",
    "n02114367",
    "n02123045",
    "n04285008",
)
GOLDFINCH, COMPUTER_KEYBOARD, TYPEWRITER_KEYBOARD = "n01531178", "n03085013", "n04505470"

# --- the photos ------------------------------------------------------------------------------


def test_a_quick_subset_is_spread_evenly_over_the_classes():
    photos = load_imagenet_photos(size=32, count=5)
    assert photos.pixels.shape == (5, 32, 32, 3) and photos.pixels.dtype == np.uint8
    assert photos.wnids[0] == "n01440764" and photos.labels[0] == "tench"  # first class
    assert photos.wnids[-1] == "n15075141" and photos.labels[-1] == "toilet tissue"  # last
    assert list(photos.wnids) == sorted(photos.wnids) and len(photos) == 5
    assert all(f.startswith("imagenet_samples/n") and f.endswith(".jpg") for f in photos.files)
    assert photos.upscaled.dtype == bool and photos.upscaled.shape == (5,)
    assert "ImageNet" in photos.credits and "Deng" in photos.credits


def test_photos_are_the_files_resized_with_lanczos():
    photos = load_imagenet_photos(size=40, classes=["daisy", TABBY])
    assert photos.labels == ("daisy", "tabby") and photos.index("tabby") == 1
    assert photos.index("n11939491") == 0  # daisy's wnid
    source = load_image(data_path(photos.files[0]))
    expected = np.asarray(Image.fromarray(source).resize((40, 40), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(photos.pixels[0], expected)
    with pytest.raises(KeyError, match="no photo of class"):
        photos.index("zebra")


def test_bad_requests_say_what_is_accepted():
    with pytest.raises(ValueError, match="no ImageNet class"):
        load_imagenet_photos(classes=["unicorn"])
    with pytest.raises(ValueError, match="between 1 and 1000"):
        load_imagenet_photos(count=0)
    with pytest.raises(ValueError, match="positive"):
        load_imagenet_photos(size=0)


def test_the_97_upscaled_photos_are_marked():
    assert len(_upscaled(data_path("imagenet_samples"))) == 97
    photos = load_imagenet_photos(size=8, classes=["common newt", "tench"])
    np.testing.assert_array_equal(photos.upscaled, [True, False])  # UPSCALED.txt's first entry


# --- the cache -------------------------------------------------------------------------------


def _backbone() -> Backbone:
    model = keras.Sequential(
        [
            keras.Input((None, None, 3)),
            keras.layers.Rescaling(1.0, name="identity"),
            keras.layers.Conv2D(3, 3, padding="same", name="conv", kernel_initializer="he_normal"),
        ]
    )
    return Backbone(name="tiny", model=model, mean_bgr=(0.0, 0.0, 0.0))


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """An empty cache folder and a counter of real computations."""
    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path))
    calls = []
    real = cache_module.channel_maxima

    def counting(*args, **kwargs):
        calls.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(cache_module, "channel_maxima", counting)
    return calls


def _images(seed=0):
    return np.random.default_rng(seed).integers(0, 255, (5, 12, 12, 3), dtype=np.uint8)


def _same(a: dict, b: dict):
    assert list(a) == list(b)
    for name in a:
        np.testing.assert_array_equal(a[name].values, b[name].values)
        np.testing.assert_array_equal(a[name].rows, b[name].rows)
        np.testing.assert_array_equal(a[name].cols, b[name].cols)
        np.testing.assert_array_equal(a[name].mirrored, b[name].mirrored)
        assert a[name].field == b[name].field


def test_the_cache_is_written_once_sealed_and_read_back(counted, tmp_path, capsys):
    backbone, images = _backbone(), _images()
    first = cached_channel_maxima(backbone, images, ["conv"], progress=False, report=True)
    again = cached_channel_maxima(backbone, images, ["conv"], progress=False, report=True)
    assert len(counted) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("tiny: computed over 5 photos and cached in")
    assert lines[1].startswith("tiny: read from the cache in")
    _same(first, again)
    path = cache_path(cache_key(backbone, images, ["conv"], mirror=True))
    assert path.parent == tmp_path / "top_patches" and is_sealed(path)
    names = sorted(p.name for p in path.parent.iterdir())  # no temporary file left behind
    assert names == [path.name, path.name + ".sha256"]
    assert again["conv"].mirrored is not None and again["conv"].mirrored.dtype == bool


def test_other_photos_or_settings_are_computed_anew(counted):
    backbone, images = _backbone(), _images()
    cached_channel_maxima(backbone, images, ["conv"], progress=False)
    cached_channel_maxima(backbone, _images(seed=1), ["conv"], progress=False)
    plain = cached_channel_maxima(backbone, images, ["conv"], mirror=False, progress=False)
    assert len(counted) == 3 and plain["conv"].mirrored is None
    cached_channel_maxima(backbone, images, ["conv"], mirror=False, progress=False)
    assert len(counted) == 3


def test_a_damaged_or_foreign_cache_is_recomputed(counted):
    backbone, images = _backbone(), _images()
    good = cached_channel_maxima(backbone, images, ["conv"], progress=False)
    path = cache_path(cache_key(backbone, images, ["conv"], mirror=True))
    path.write_bytes(path.read_bytes()[:-10])  # damaged: the seal no longer matches
    _same(cached_channel_maxima(backbone, images, ["conv"], progress=False), good)
    assert len(counted) == 2 and is_sealed(path)
    # A sealed file of another computation under this name is not trusted either.
    other = cache_key(backbone, _images(seed=2), ["conv"], mirror=True)
    cache_module._save(path, other, good)
    _same(cached_channel_maxima(backbone, images, ["conv"], progress=False), good)
    assert len(counted) == 3


def test_use_cache_false_leaves_the_folder_alone(counted, tmp_path):
    cached_channel_maxima(_backbone(), _images(), ["conv"], progress=False, use_cache=False)
    assert len(counted) == 1 and not (tmp_path / "top_patches").exists()
    with pytest.raises(ValueError, match="valid layers"):
        cached_channel_maxima(_backbone(), _images(), ["nope"], progress=False)


def test_the_key_names_everything_that_changes_the_result():
    backbone, images = _backbone(), _images()
    key = cache_key(backbone, images, ["conv"], mirror=True)
    assert cache_key(backbone, images.copy(), ["conv"], mirror=True) == key
    changed = [
        cache_key(backbone, _images(seed=1), ["conv"], mirror=True),
        cache_key(backbone, images, ["conv", "identity"], mirror=True),
        cache_key(backbone, images, ["conv"], mirror=False),
        cache_key(Backbone("other", backbone.model, None), images, ["conv"], mirror=True),
    ]
    assert key not in changed and len(set(changed)) == 4


# --- the coherence measure -------------------------------------------------------------------


def _layer(values, name="layer") -> ChannelMaxima:
    values = np.asarray(values, np.float32)
    zeros = np.zeros(values.shape, int)
    return ChannelMaxima(name, values, zeros, zeros, ReceptiveField(name, 3, 1, 0))


WNIDS = [CHIHUAHUA, BEAGLE, WOLF, TABBY, SPORTS_CAR, GOLDFINCH]


def test_unit_groups_finds_the_largest_group_deep_enough():
    groups, counts = coh.unit_groups([[0, 1, 2, 3, 4], [0, 4, 5, 3, 2]], WNIDS, min_depth=13)
    assert groups[0] == DOG and list(counts) == [2, 1]  # wolf is a canine, not a dog
    assert groups[1] == CHIHUAHUA  # one photo each: the deepest synset covering one
    groups, counts = coh.unit_groups([[0, 1, 2, 3, 4]], WNIDS, min_depth=11)
    assert coh.group_label(groups[0]) == "carnivore" and counts[0] == 4
    assert coh.group_label("n01886756") == "placental mammal" and coh.group_label(None) == "-"


def test_layer_coherence_measures_the_firing_units_top_photos():
    # photo 0..5 as in WNIDS; unit 0 prefers the dogs, unit 1 fires on 2 photos only (k = 3),
    # unit 2 prefers car, bird, cat.
    values = [
        [9, 1, 0],
        [8, 0, 0],
        [7, 0, 1],
        [1, 0, 5],
        [2, 0, 9],
        [3, 1, 8],
    ]
    c = coh.layer_coherence(_layer(values), WNIDS, k=3, min_depth=13)
    assert list(c.units) == [0, 2] and c.n_channels == 3 and c.k == 3
    np.testing.assert_array_equal(c.photos, [[0, 1, 2], [4, 5, 3]])
    assert list(c.counts) == [2, 1] and c.groups[0] == DOG
    np.testing.assert_allclose(c.share, [2 / 3, 1 / 3])
    assert c.mean == pytest.approx(0.5)
    assert c.of(0) == (DOG, 2) and c.caption(0) == "unit 0\ndog 2/3"
    assert c.caption(2) == "unit 2\nno shared group 1/3"
    assert c.common_groups(at_least=2) == [("dog", 1)] and c.common_groups(at_least=3) == []
    np.testing.assert_array_equal(coh.most_coherent(c, 2), [0, 2])
    with pytest.raises(KeyError, match="fewer than 3 photos"):
        c.of(1)
    with pytest.raises(ValueError, match="only 2 firing units"):
        coh.most_coherent(c, 3)
    with pytest.raises(ValueError, match="one per photo"):
        coh.layer_coherence(_layer(values), WNIDS[:5], k=3)


def test_chance_is_the_same_measure_on_random_photo_sets():
    chance = coh.chance_coherence(WNIDS, k=3, min_depth=13, n_sets=50, seed=1)
    assert chance.shape == (50,) and set(np.round(chance * 3)) <= {1, 2, 3}
    np.testing.assert_array_equal(chance, coh.chance_coherence(WNIDS, 3, 13, 50, seed=1))
    all_dogs = coh.chance_coherence([CHIHUAHUA, BEAGLE] * 5, k=4, min_depth=13, n_sets=20)
    np.testing.assert_array_equal(all_dogs, 1.0)
    with pytest.raises(ValueError, match="between 1 and the number of photos"):
        coh.chance_coherence(WNIDS, k=7)


def test_group_members_and_the_unit_that_holds_most_of_a_group():
    wnids = [COMPUTER_KEYBOARD, TABBY, TYPEWRITER_KEYBOARD, GOLDFINCH, SPORTS_CAR]
    members = coh.group_members(wnids, KEYBOARD)
    np.testing.assert_array_equal(members, [True, False, True, False, False])
    assert coh.group_members(wnids, BIRD, hierarchy()).sum() == 1
    # units 0 and 1 both hold both keyboards in their top 3; in unit 1 they rank higher
    values = [[5, 9, 0], [9, 1, 0], [3, 8, 9], [4, 0, 8], [0, 0, 7]]
    assert coh.best_unit_for(_layer(values), members, k=3) == (1, 2)
    assert coh.best_unit_for(_layer(values), members, k=1) == (1, 1)
    assert coh.best_unit_for(_layer(np.ones((5, 2))), members, k=1) == (0, 1)  # ties: index


def test_plot_coherence_shows_chance_and_the_receptive_field():
    import matplotlib.pyplot as plt

    layers = [
        coh.layer_coherence(_layer(np.random.default_rng(s).random((6, 4))), WNIDS, 3, 11)
        for s in range(5)
    ]
    chance = coh.chance_coherence(WNIDS, k=3, min_depth=11, n_sets=40)
    fig = plot_coherence({"net": ([3, 8, 26, 62, 134], layers)}, chance, 224, majority=2)
    left, middle, right = fig.axes
    assert [line.get_label() for line in left.lines] == ["net", "random photos"]
    assert left.lines[1].get_ydata()[0] == pytest.approx(chance.mean())
    assert list(right.lines[0].get_ydata()) == [3, 8, 26, 62, 134]
    assert right.lines[1].get_ydata()[0] == 224
    assert middle.lines[1].get_ydata()[0] == pytest.approx(np.mean(chance >= 2 / 3))
    assert "95 % range of a 4-unit layer's mean" in [t.get_text() for t in left.get_legend().texts]
    assert "depth ≥ 11" in left.get_ylabel()
    plt.close(fig)
