"""What the end-to-end grading test submits for each notebook.

FAST: lines appended to a notebook's parameters cell in every test submission, so
autograding three submissions of every notebook stays quick in CI (students may edit
the parameters cell too; nbgrader keeps it). MISTAKES: one classic mistake per notebook,
``(solution grade_id, text to replace, replacement, graded cells that must score 0)``, or a
list of such cases for a notebook with several exercises (all applied to one submission).
"""

FAST = {
    "01": "n_trials = 100",
    "02": "photos_per_person = 2\nn_timed_queries = 1",
    "03": "steps = 3\nnum_train, num_val, num_test = 60, 8, 8",  # 16 held-out people: 30 s more
    "04": "n_test_pairs = 60\nn_train_pairs = 100\nepochs = 5\nfine_tune_epochs = 3",
    "05": "n_people, n_strangers, gallery_sizes, n_trials = 20, 10, [1, 5, 20], 100",
    "06": "n_photos = 100\nn_random_sets = 200",
    "07": "IMAGE_SIZE = 64\nSCHEDULE = [(32, 3), (64, 3)]\nVGG_SCHEDULE = [(32, 2), (64, 2)]",
    "08": "IMAGE_SIZE = 96\nSCHEDULE = [(64, 3), (96, 3)]",  # SqueezeNet's pools need >= 64 px
    "09": "IMAGE_SIZE = 48\nLOOP_STEPS = 2\nCPU_SECONDS = 0.3\nSTEPS = 2\n"
    "NOISE_SCHEDULE = [(32, 5), (48, 5)]\nSCHEDULE = [(32, 2), (48, 2)]",
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
    # alpha and beta swapped; and the pixels not clipped after the update
    "09": [
        (
            "ex_total_cost",
            "alpha * J_content + beta * J_style",
            "alpha * J_style + beta * J_content",
            ["check_total_cost"],
        ),
        (
            "ex_train_step",
            "generated.assign(tf.clip_by_value(generated, low, high))",
            "pass",
            ["check_train_step"],
        ),
    ],
    # forgetting the "+ 1" of floor((n + 2p - f) / s) + 1
    "10": (
        "ex_conv_output_shape",
        "(n + 2 * p - f) // stride + 1",
        "(n + 2 * p - f) // stride",
        ["check_conv_output_shape"],
    ),
}

# Hostile and careless submissions of notebook ATTACK_NOTEBOOK. Each: the answers it starts
# from ("solved", "stubs" or "wrong"), code appended to the first exercise cell (a student can
# edit only exercise and ordinary cells), the points it must score, words each expected reason
# must contain, and the status of its row. Before the grading guard, D scored 3/3 and E 1/3.
ATTACK_NOTEBOOK = "01"
WRONG = {  # answers that the checks must catch
    "ex_distance": "def distance(f1, f2):\n    return 2 * np.sum((f1 - f2) ** 2, axis=-1)",
    "ex_is_same_person": "def is_same_person(f1, f2, tau):\n    return distance(f1, f2) < tau",
}
_REPLACE_CHECKS = """
import fr_utils.checks.nb01 as _checks
_checks.check_distance = lambda f: None
_checks.check_is_same_person = lambda f: None
"""
_NOOP_ASSERT = "import numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
_FAKE_MODULE = """
import sys, types
_fake = types.ModuleType("fr_utils.checks.nb01")
_fake.check_distance = _fake.check_is_same_person = lambda f: None
sys.modules["fr_utils.checks.nb01"] = _fake
"""
_BLANK_TESTS = """
get_ipython().input_transformers_cleanup.append(
    lambda lines: [] if any("check_" in line for line in lines) else lines
)
"""
_PATCH_WHEN_CALLED = """
def distance(f1, f2):  # patches the checks from inside, while they run
    import numpy.testing
    import workbook.checking
    workbook.checking.expect_close = lambda *a, **k: None
    numpy.testing.assert_allclose = lambda *a, **k: None
    return 2 * np.sum((np.asarray(f1) - np.asarray(f2)) ** 2, axis=-1)
"""
_HANG = "\nwhile True:\n    pass\n"
_STUCK = "\nimport signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"

ATTACKS = {
    # (with a fake check module swapped in too: any one of the three would pass the tests)
    "D_replaced_checks": {
        "answers": "wrong",
        "code": _REPLACE_CHECKS + _NOOP_ASSERT + _FAKE_MODULE,
        "points": 0,
        "reasons": [
            "fr_utils.checks.nb01.check_distance was replaced",
            "fr_utils.checks.nb01.check_is_same_person was replaced",
            "numpy.testing.assert_allclose was replaced",
            "sys.modules['fr_utils.checks.nb01'] was replaced",
        ],
        "status": "flagged",
    },
    "E_patched_module_only": {
        "answers": "stubs",
        "code": _REPLACE_CHECKS,
        "points": 0,
        "reasons": ["fr_utils.checks.nb01.check_distance was replaced"],
        "status": "flagged",
    },
    "G_blanked_tests": {
        "answers": "stubs",
        "code": _BLANK_TESTS,
        "points": 0,
        "reasons": ["input_transformers_cleanup was changed", "did not run to its end"],
        "status": "flagged",
    },
    "H_patched_while_checked": {
        "answers": "solved",
        "code": _PATCH_WHEN_CALLED,
        "points": 0,
        "reasons": ["workbook.checking.expect_close was replaced"],
        "status": "flagged",
    },
    # careless, not hostile: an endless loop is interrupted at its cell's timeout (and a
    # link planted for tools that read the folder later, outside the sandbox, is removed) ...
    "I_endless_loop": {
        "answers": "solved",
        "code": "\nimport os\nos.symlink('/etc/hostname', 'planted.txt')\n" + _HANG,
        "points": 3,
        "reasons": ["ex_distance timed out", "left a symbolic link planted.txt (removed)"],
        "status": "flagged",
    },
    # ... and a kernel that ignores the interrupt is stopped: later tests score 0
    # (its report cell never ran either, so nothing it printed can be trusted: flagged)
    "J_ignores_interrupt": {
        "answers": "solved",
        "code": _STUCK,
        "points": 0,
        "reasons": ["ignored the interrupt", "no report from the grading guard"],
        "status": "flagged",
    },
}
