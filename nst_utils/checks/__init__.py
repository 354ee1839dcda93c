"""Exercise checks of notebooks 06-09, one module per notebook (``nb06`` ... ``nb09``).

The graded cells of notebook NN import from `nst_utils.checks.nbNN`. The style-cost checks share
their random activations and reference formulas through `nst_utils.checks._common`; helpers
shared with the other packages live in `workbook.checking`.
"""
