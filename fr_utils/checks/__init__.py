"""Exercise checks of the face notebooks, one module per notebook (``nb01`` ... ``nb05``).

The graded cells of notebook NN import from `fr_utils.checks.nbNN`. Each ``check_*`` function
runs the student's function on fresh inputs, compares it with the reference, and raises
`workbook.CheckFailed` with a sentence naming the likely mistake. Shared helpers live in
`workbook.checking`.
"""
