"""Pretrained networks ported to Keras, and readers of their original file formats.

* `fr_utils.models.dlib_format`: dlib's ``.dat`` serialisation (packed integers, tensors).
* `fr_utils.models.dlib_resnet`: dlib's ResNet-29 face encoder rebuilt in Keras (the default).
* `fr_utils.models.openface`: OpenFace nn4.small2.v1, the course's FRmodel, from per-layer CSVs.

Nothing here is called by a notebook directly: `fr_utils.load_face_model` picks the network.
"""
