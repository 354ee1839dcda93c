"""Code that only the notebooks use: the experiments and figures of the lessons.

The library (`fr_utils` itself) is what a user of face verification needs; the modules here
exist to teach it:

* `fr_utils.lessons.one_shot`: verification vs recognition, errors vs database size (01, 05).
* `fr_utils.lessons.reference`: OpenFace's reference encodings of LFW (01).
* `fr_utils.lessons.triplets`: training a small embedding CNN with mined triplets (03).
* `fr_utils.lessons.pair_eval`: verification on held-out people (03).
* `fr_utils.lessons.pair_features`: verification as binary classification (04).
* `fr_utils.lessons.door`: the door of the lecture's scenario, with a widget panel (05).
* `fr_utils.lessons.drawing`: figures of detections, landmarks and chips (02, 05).
"""
