"""What the end-to-end grading test submits for each notebook.

FAST: lines appended to a notebook's parameters cell in every test submission, so
autograding three submissions of every notebook stays quick in CI (students may edit
the parameters cell too; nbgrader keeps it). MISTAKES: one classic mistake per notebook,
``(solution grade_id, text to replace, replacement, graded cells that must score 0)``.
"""

FAST = {
    "01": "n_trials = 100",
    "02": "photos_per_person = 2\nn_timed_queries = 1",
    "03": "steps = 3",
    "04": "n_test_pairs = 60\nn_train_pairs = 100\nepochs = 5",
    "05": "n_people, n_strangers, gallery_sizes, n_trials = 20, 10, [1, 5, 20], 100",
    "06": "n_photos = 100\nn_random_sets = 200",
    "07": "IMAGE_SIZE = 64\nSCHEDULE = [(32, 3), (64, 3)]\nVGG_SCHEDULE = [(32, 2), (64, 2)]",
    "08": "IMAGE_SIZE = 96\nSCHEDULE = [(64, 3), (96, 3)]",  # SqueezeNet's pools need >= 64 px
    "09": "IMAGE_SIZE = 48\nSTEPS = 3\nLOOP_STEPS = 2\nSWEEP_SIZE = 48\nSWEEP_STEPS = 2",
    "10": "ECG_EPOCHS = 2\nSHAPES_PER_CLASS = 20\nSHAPE_EPOCHS = 1",
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
    # mean instead of sum over the batch (CONVENTIONS.md: the loss is a sum)
    "03": (
        "ex_triplet_loss",
        "tf.reduce_sum(tf.maximum(basic_loss, 0.0))",
        "tf.reduce_mean(tf.maximum(basic_loss, 0.0))",
        ["check_triplet_loss"],
    ),
    # the lecture's chi-square denominator f1 + f2, which is <= 0 for signed unit encodings
    "04": (
        "ex_chi2_features",
        "(np.abs(f1) + np.abs(f2) + eps)",
        "(f1 + f2 + eps)",
        ["check_chi2_features"],
    ),
    # squared distance compared with a threshold meant for the plain L2 distance
    "05": (
        "ex_verify",
        "dist = float(np.linalg.norm(encoding - database[identity]))",
        "dist = float(np.sum((encoding - database[identity]) ** 2))",
        ["check_verify"],
    ),
    # adding kernel sizes without multiplying by the accumulated stride (the jump)
    "06": (
        "ex_receptive_field_size",
        "size += (kernel - 1) * jump",
        "size += kernel - 1",
        ["check_receptive_field_size"],
    ),
    # no normalisation: the plain sum of squares grows with the layer's size
    "07": (
        "ex_compute_content_cost",
        " / (4 * n_H * n_W * n_C)",
        "",
        ["check_compute_content_cost"],
    ),
    # the reshape trap: reshaping (1, n_H, n_W, n_C) straight to (n_C, n_H * n_W)
    "08": (
        "ex_compute_layer_style_cost",
        "tf.transpose(tf.reshape(a_S, (-1, n_C)))",
        "tf.reshape(a_S, (n_C, -1))",
        ["check_compute_layer_style_cost"],
    ),
    # alpha and beta swapped
    "09": (
        "ex_total_cost",
        "alpha * J_content + beta * J_style",
        "alpha * J_style + beta * J_content",
        ["check_total_cost"],
    ),
    # forgetting the "+ 1" of floor((n + 2p - f) / s) + 1
    "10": (
        "ex_conv_output_shape",
        "(n + 2 * p - f) // stride + 1",
        "(n + 2 * p - f) // stride",
        ["check_conv_output_shape"],
    ),
}
