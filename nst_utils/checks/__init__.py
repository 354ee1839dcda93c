"""Exercise checks of notebooks 06-09, one module per notebook (``nb06`` ... ``nb09``).

The graded cells of notebook NN import from `nst_utils.checks.nbNN`. Each ``check_*`` runs the
student's function on fresh random inputs (new variable names, so a function that reads a
notebook global fails), compares it with an independent NumPy computation of the formula in
CONVENTIONS.md, and raises `workbook.CheckFailed` with a sentence naming the likely bug (the
reshape trap, a missing normalisation, a mean instead of a sum). The style-cost checks share
their random activations and reference formulas through `nst_utils.checks._common`; helpers
shared with the other packages live in `workbook.checking`.
"""
