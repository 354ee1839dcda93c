"""What the units of a ConvNet respond to (notebook 06, after Zeiler & Fergus 2013).

* `nst_utils.layers.receptive_field`: which input pixels one unit of a layer can see.
* `nst_utils.layers.top_patches`: the image patches that excite a unit most.
* `nst_utils.layers.probe_images`: the collection of real images used as probes.
* `nst_utils.layers.plots`: top-patch mosaics, first-layer filters, activation maps.
"""
