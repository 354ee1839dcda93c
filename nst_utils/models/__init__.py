"""Pretrained networks for style transfer and layer visualisation, and readers of their files.

* `nst_utils.models.vgg`: VGG-16 with HED's weights (offline) and ImageNet VGG-19 (online).

`nst_utils.load_backbone` picks a network by name; nothing here needs to be imported directly.
"""
