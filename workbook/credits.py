"""Who made each image the workbook shows, and under what terms: the one home of credit lines.

Every notebook that displays an image prints its credit with `credits`, which accepts the
image's path relative to the data folder (``"photos/bern_from_north.jpg"``,
``"faces/lfw/AJ_Cook/AJ_Cook_0001.jpg"``) or the name of a group of package samples
(``"skimage"``, ``"sklearn"``). Single files are credited one by one (`CREDITS`); folders of
many photos with one source (LFW, ImageNet samples, government photos) have one line each
(`GROUP_CREDITS`, matched by path prefix). The CC BY-SA photos (Yosemite, chiffchaff) make any
stylised output an adaptation under the same licence: `SHARE_ALIKE` lists them and `credits`
says so. The full provenance is in the ``SOURCES*.md`` files of the data folder.
"""

from __future__ import annotations

__all__ = ["CREDITS", "GROUP_CREDITS", "SHARE_ALIKE", "credits"]

_VIA = "via Wikimedia Commons, downscaled"
#: One credit line per shared image file (from ``SOURCES-media.md`` in the data folder).
CREDITS = {
    "photos/bern_from_north.jpg": f'"Central Bern from north" by CucombreLibre, CC BY 2.0, {_VIA}',
    "photos/yosemite_bridalveil_fall.jpg": (
        f'"Bridalveil Fall and valley" by Amadscientist, CC BY-SA 3.0, {_VIA}'
    ),
    "photos/chiffchaff_bird.jpg": (
        f'"Chiffchaff (Phylloscopus collybita)" by א, CC BY-SA 2.5, {_VIA}'
    ),
    "photos/plaigne_countryside.jpg": f'"Plaigne (2)" by Jcb-caz-11, CC BY 4.0, {_VIA}',
    "photos/mars_valles_marineris_nasa.jpg": (
        "Valles Marineris: The Grand Canyon of Mars, courtesy NASA/JPL-Caltech (public domain)"
    ),
    "art/starry_night.jpg": "Vincent van Gogh, The Starry Night, 1889 (public domain)",
    "art/great_wave_off_kanagawa.jpg": (
        "Katsushika Hokusai, The Great Wave off Kanagawa, c. 1830-32 (public domain)"
    ),
    "art/the_scream.jpg": "Edvard Munch, The Scream, 1893 (public domain)",
    "art/shipwreck_of_the_minotaur.jpg": (
        "J. M. W. Turner, The Shipwreck of the Minotaur, c. 1805-10 (public domain)"
    ),
    "art/composition_vii.jpg": "Wassily Kandinsky, Composition VII, 1913 (public domain)",
    "art/monet_san_giorgio_maggiore_at_dusk.jpg": (
        "Claude Monet, San Giorgio Maggiore at Dusk, 1908 (public domain)"
    ),
    "art/gauguin_te_fare.jpg": "Paul Gauguin, Te Fare (La Maison), 1892 (public domain)",
}
#: Photos whose licence is ShareAlike: a stylised version must carry the same licence.
SHARE_ALIKE = frozenset({"photos/yosemite_bridalveil_fall.jpg", "photos/chiffchaff_bird.jpg"})

#: One credit line per folder (path prefix) or group of package samples.
GROUP_CREDITS = {
    "skimage": (
        "scikit-image sample images (CC0 / public domain / no known copyright restrictions, as"
        " stated in skimage.data): astronaut (NASA), brick and gravel (CC0Textures), camera"
        " (Lav Varshney), cell (Müller et al. 2018), chelsea and clock (Stefan van der Walt),"
        " coffee (Rachel Michetti), coins (Brooklyn Museum), grass (linolafett), horse (Andreas"
        " Preuss), hubble_deep_field (NASA), immunohistochemistry (CMMI), retina (Häggström,"
        " Wikimedia Commons), rocket (SpaceX), text."
    ),
    "sklearn": (
        'scikit-learn sample images: "china.jpg" by danielbuechele and "flower.jpg" by'
        " vultilion, Flickr, CC BY 2.0, cropped."
    ),
    "faces/lfw/": (
        "Faces: Labeled Faces in the Wild (Huang, Ramesh, Berg, Learned-Miller, UMass Amherst"
        " TR 07-49, 2007), deep-funneled version (Huang et al., NIPS 2012); used for teaching."
    ),
    "faces/lfw_original_subset/": (
        "Faces: Labeled Faces in the Wild (Huang, Ramesh, Berg, Learned-Miller, UMass Amherst"
        " TR 07-49, 2007), original unaligned photos; used for teaching."
    ),
    "faces/public_domain/unknown/": (
        "Eileen Collins, NASA (public domain; scikit-image's astronaut sample)."
    ),
    "faces/public_domain/": (
        "Official White House photographs (Pete Souza and White House staff): works of the U.S."
        " federal government, public domain; not for commercial or political use or"
        " endorsement, and not to be manipulated."
    ),
    "imagenet_samples/": (
        "ImageNet samples (one photo per class, EliSchwartz/imagenet-sample-images): Deng et al.,"
        " ImageNet, CVPR 2009; Russakovsky et al., IJCV 2015. Copyright stays with the"
        " photographers; ImageNet's terms allow non-commercial research and teaching only."
    ),
}


def _line(name: str) -> str:
    if name in CREDITS:
        return CREDITS[name]
    if name in GROUP_CREDITS:
        return GROUP_CREDITS[name]
    prefixes = [key for key in GROUP_CREDITS if key.endswith("/") and name.startswith(key)]
    if prefixes:
        return GROUP_CREDITS[max(prefixes, key=len)]
    known = ", ".join(sorted(CREDITS) + sorted(GROUP_CREDITS))
    raise KeyError(f"No credit known for {name!r}; known: {known}")


def credits(*names: str) -> str:
    """Return the credit lines of the named images, one line per distinct credit.

    Args:
        names: image paths relative to the data folder (e.g. ``"photos/bern_from_north.jpg"``,
            ``"faces/lfw/AJ_Cook/AJ_Cook_0001.jpg"``) or group names (``"skimage"``).

    Raises:
        KeyError: an image without a known credit (the message lists the known ones).
    """
    lines = [f"Image: {line}" for line in dict.fromkeys(_line(name) for name in names)]
    if any(name in SHARE_ALIKE for name in names):
        lines.append("ShareAlike: a stylised version of this photo must carry the same licence.")
    return "\n".join(lines)
