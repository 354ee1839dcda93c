"""Code that only the notebooks use: the experiments and figures of the lessons.

The library (`fr_utils` itself) is what a user of face verification needs; the modules here
exist to teach it:

* `fr_utils.lessons.one_shot`: verification vs recognition, errors vs database size, and the
  softmax-over-K-people door that one-shot learning replaces (01, 05).
* `fr_utils.lessons.reference`: OpenFace's reference encodings of LFW (01).
* `fr_utils.lessons.triplets`: training a small embedding CNN with mined triplets, and the
  figure of the triplets each strategy picks (03).
* `fr_utils.lessons.pair_eval`: verification on held-out people (03).
* `fr_utils.lessons.pair_features`: verification as binary classification, the pixel baseline (04).
* `fr_utils.lessons.siamese`: the Siamese network trained end to end (last layer fine-tuned, 04).
* `fr_utils.lessons.door`: the door of the lecture's scenario, with a widget panel (05).
* `fr_utils.lessons.drawing`: figures of detections, landmarks and chips (02, 05).
"""
