"""Grading you can trust: the sandboxed, guarded kernel that ``tools/course.py autograde`` uses.

nbgrader runs a student's notebook and its hidden tests in one Python kernel, so anything the
tests rely on is within the student's reach. This package narrows that reach and reports what
is left:

* `grading.sandbox`: the kernel launcher named by the ``workbook-grading`` kernelspec. It starts
  the kernel under bubblewrap (``bwrap``): the student's folder read-write, the interpreter,
  the installed packages, the project's packages and the course data read-only, its own
  ``/tmp``, no network, nothing else (no ``source/``, no gradebook, no other student).
  The launcher stays bwrap's parent: when nbgrader dies it kills the sandbox itself (bwrap
  0.8's own ``--die-with-parent`` has a start-up window it loses).
* `grading.lifeline`: the pipe whose cut tells the kernel its launcher is gone.
* `grading.kernel`: runs inside the sandbox; holds the lifeline, installs the guard, then
  starts ipykernel.
* `grading.guard`: inside the kernel, before any student code. Imports the project's modules
  only from their released files (checked against sha256 hashes), snapshots the modules the
  checks rely on (``fr_utils``, ``nst_utils``, ``conv_utils``, ``workbook``, NumPy,
  ``builtins``, ...) and the kernel's execution hooks; before and after every test cell it
  compares, restores what was changed and records who changed what.
* `grading.nbgrader_plugins`: nbgrader preprocessors: locked cells compared with the released
  version (honest submissions raise no warning, edited or deleted test cells are reported),
  the guard's calls around each test cell, per-cell timeouts from the solution's own run time,
  and the verdict: a test that did not run to completion scores 0, whatever its output says.

The README's instructor guide lists what this model still cannot prevent.
"""
