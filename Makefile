# The workbook's commands. `make run` and `make test` are the two that matter (README "Quick start").
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# Same numbers on every run: fixed hash seed, quiet TensorFlow, deterministic ops.
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_DETERMINISTIC_OPS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
NBVAL := --nbval $(NOTEBOOKS) --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=900

.PHONY: install run test lint format notebooks student release autograde lab book bench data clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed  ## create .venv and install the project with its dev tools

run: install  ## execute every notebook headless into build/ (+ HTML) and print a table
	$(PY) -u tools/notebooks.py run $(NB)

# `make test`'s stages (tools/stages.py prints each one's wall-clock and CPU seconds). The unit
# tests and nbval run at the same time, two workers each, so both cores stay busy; nbval records
# its run of every solved notebook (workbook/nbval_policy.py), and the end-to-end grading test,
# last, takes the reference solution's score and timeouts from that record instead of
# executing every solved notebook again.
RESULTS := build/nbval-results
UNIT := -m pytest tests -n 2 --dist loadfile --no-loadscope-reorder -p no:cacheprovider \
  --ignore tests/test_grading_e2e.py
test: install  ## lint, unit tests and nbval on every notebook, then end-to-end grading (timed)
	$(PY) tools/stages.py \
	  "lint=$(PY) -m ruff check . && $(PY) -m ruff format --check ." \
	  "notebooks=$(PY) tools/notebooks.py check" \
	  "unit=$(PY) $(UNIT)" \
	  "nbval=rm -rf $(RESULTS) && WORKBOOK_NBVAL_RESULTS=$(RESULTS) \
	    $(PY) -m pytest $(NBVAL) -n 2 --dist loadfile -p no:cacheprovider" \
	  "grading=WORKBOOK_NBVAL_RESULTS=$(RESULTS) $(PY) -m pytest tests/test_grading_e2e.py \
	    -p no:cacheprovider" \
	  --together unit nbval

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

notebooks: install  ## rebuild notebooks from notebooks/src and execute them in place (commit the result)
	$(PY) -u tools/notebooks.py execute $(NB)

student: install  ## write student versions (solutions removed, outputs cleared) to student/
	$(PY) tools/course.py student

release: install  ## an nbgrader course directory in course/; grades the solution once (timeouts)
	$(PY) tools/course.py release --course course

autograde: install  ## grade SUBMISSIONS=dir (one folder per student), sandboxed; prints scores
	@test -n "$(SUBMISSIONS)" || (echo "usage: make autograde SUBMISSIONS=path/to/submissions"; exit 2)
	$(PY) tools/course.py autograde "$(SUBMISSIONS)" --course course --csv course/scores.csv \
	  --workers $(or $(WORKERS),1)

lab: install  ## JupyterLab on the notebooks, with this project's kernel
	$(PY) -m ipykernel install --user --name special-applications --display-name "Special applications (.venv)"
	cd notebooks && ../$(VENV)/bin/jupyter lab

book: install  ## the course website (Jupyter Book) from the committed notebooks into build/book/html
	$(PY) tools/book.py build

bench: install  ## speed and memory benchmarks (ratios against reference implementations)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

data:  ## online users: download the public datasets into ./data (never run in CI)
	python3 -m workbook.fetch_data --root .

clean:
	rm -rf build student release course .pytest_cache
