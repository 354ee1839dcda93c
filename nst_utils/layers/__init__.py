"""What the units of a ConvNet respond to (notebook 06, after Zeiler & Fergus 2013).

* `nst_utils.layers.receptive_field`: which input pixels one unit of a layer can see.
* `nst_utils.layers.imagenet_photos`: the 1000 ImageNet photos (one per class) used as probes.
* `nst_utils.layers.top_patches`: the photos and patches that excite a unit most.
* `nst_utils.layers.cache`: those maxima computed once and kept on disk.
* `nst_utils.layers.coherence`: how much a unit's top photos share, measured with WordNet.
* `nst_utils.layers.plots`: predictions, filters, activation maps, mosaics, coherence curves.
"""
