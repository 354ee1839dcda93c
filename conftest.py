"""Repository-wide pytest configuration: load the nbval comparison policy (see its docstring)."""

pytest_plugins = ("workbook.nbval_policy",)
