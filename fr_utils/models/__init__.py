"""Pretrained networks ported to Keras, and readers of their original file formats.

* `fr_utils.models.dlib_format`: dlib's ``.dat`` serialisation (packed integers, tensors).
* `fr_utils.models.dlib_resnet`: dlib's ResNet-29 face encoder rebuilt in Keras (the default).
* `fr_utils.models.openface`: OpenFace nn4.small2.v1, the course's FRmodel, from per-layer CSVs.
* `fr_utils.models.shape_predictor`: dlib's 68- and 5-point landmark predictors (ensembles of
  regression trees) read from their ``.dat`` files and run in NumPy, identical to dlib's.
* `fr_utils.models.box_mapping`: MTCNN boxes -> the dlib HOG boxes those predictors expect
  (constants fitted on LFW, with the command that fits them).
* `fr_utils.models.dlib_chip`: dlib's ``get_face_chip`` (150x150 from 5 landmarks), identical.

Nothing here is called by a notebook directly: `fr_utils.load_face_model` picks the network.
"""
