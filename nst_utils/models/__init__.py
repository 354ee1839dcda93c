"""Pretrained networks for style transfer and layer visualisation, and readers of their files.

* `nst_utils.models.vgg`: VGG-16 with HED's weights (offline) and ImageNet VGG-19 (online).
* `nst_utils.models.squeezenet`: SqueezeNet v1.1's ImageNet features, from a MATLAB ``.mat``.
* `nst_utils.models.darknet`: the Darknet tiny ImageNet classifier (``classify``), from TF.js.
* `nst_utils.models.imagenet_hierarchy`: the WordNet noun hierarchy of the ImageNet classes.
* `nst_utils.models.tflite`: a bounds-checked reader of TensorFlow Lite model files.
* `nst_utils.models.magenta`: Magenta's style prediction and style transfer networks (Ghiasi et
  al. 2017) rebuilt as Keras models from their TFLite files (used by `nst_utils.fast_stylize`).

`nst_utils.load_backbone` and `nst_utils.fast_stylize` pick the networks; import a module here
for its own tools (e.g. `nst_utils.models.darknet.classify`).
"""
