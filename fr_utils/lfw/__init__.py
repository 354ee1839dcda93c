"""Tooling for Labeled Faces in the Wild (LFW): pairs, galleries, crops, face rule, evaluation.

* `fr_utils.lfw.pairs`: the official verification pairs and disjoint training pairs (notebook 04).
* `fr_utils.lfw.gallery`: a sample of LFW people encoded in batches (notebook 05).
* `fr_utils.lfw.crops`: small face crops for training an embedding from scratch (notebook 03).
* `fr_utils.lfw.face_rule`: the measurement behind `fr_utils.faces`' subject rule, on LFW photos
  the evaluation never uses (``python -m fr_utils.lfw.face_rule``; report ``FACE_RULE.md``).
* `fr_utils.lfw.evaluate`: the cross-validated view-2 evaluation of the public API, next to
  dlib's own pipeline, behind the encoder's threshold (``python -m fr_utils.lfw.evaluate``;
  its report is ``fr_utils/lfw/LFW_EVAL.md``, its ROC curves ``LFW_ROC.png``, its numbers
  ``LFW_EVAL.json``, read by `fr_utils.lfw.evaluate.load_results`).
"""
