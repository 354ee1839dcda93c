"""What the end-to-end grading test submits for each notebook.

FAST: lines appended to a notebook's parameters cell in every test submission, so
autograding three submissions of every notebook stays quick in CI (students may edit
the parameters cell too; nbgrader keeps it). MISTAKES: one classic mistake per notebook,
``(solution grade_id, text to replace, replacement, graded cells that must score 0)``.
"""

FAST = {
    "01": "n_trials = 100",
    "02": "photos_per_person = 2\nn_timed_queries = 1",
    "04": "n_test_pairs = 60\nn_train_pairs = 100\nepochs = 5",
}

MISTAKES = {
    # strict inequality: a pair exactly at the threshold is rejected
    "01": (
        "ex_is_same_person",
        "distance(f1, f2) <= tau",
        "distance(f1, f2) < tau",
        ["check_is_same_person"],
    ),
    # squared distances: the encoder's threshold is on the plain L2 distance
    "02": (
        "ex_distance_matrix",
        "return np.sqrt(np.maximum(d2, 0.0))",
        "return d2",
        ["check_distance_matrix"],
    ),
    # the lecture's chi-square denominator f1 + f2, which is <= 0 for signed unit encodings
    "04": (
        "ex_chi2_features",
        "(np.abs(f1) + np.abs(f2) + eps)",
        "(f1 + f2 + eps)",
        ["check_chi2_features"],
    ),
}
