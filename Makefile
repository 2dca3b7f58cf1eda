# Two commands for a fresh machine (see README):  make run   |   make test
# Both create .venv if it is missing, install the kit with its extras, and are safe to re-run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.kit-installed
PROFILE ?= tutorial

.PHONY: setup run test reproduce demo bench clean-runs nbval nbval-refresh mutation embedded-check

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[notebooks,demo,dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

## the kit's main job: execute every numbered notebook headlessly (PROFILE=tutorial by default), side by side
## (JOBS=N; default one per core), then write runs/$(PROFILE)/REPORT.md, report.html and the notebooks as HTML
run: setup
	$(VENV)/bin/internvideo notebooks run --profile $(PROFILE) $(if $(JOBS),--jobs $(JOBS))

## the whole test suite (CI runs exactly this)
test: setup
	$(PY) -m pytest

## nbval: the marked notebook cells (# NBVAL_CHECK_OUTPUT) reproduce tests/nbval/*.ipynb (also part of `make test`)
nbval: setup
	MPLBACKEND=Agg INTERNVIDEO_OFFLINE=1 $(PY) -m pytest --nbval-lax --nbval-sanitize-with tests/nbval/sanitize.cfg \
		-p no:cacheprovider -o addopts= tests/nbval/*.ipynb

## regenerate tests/nbval/*.ipynb after an intended change of a marked cell (review the diff before committing)
nbval-refresh: setup
	$(PY) tests/nbval/refresh.py

## the full reproduction: run the tutorial notebooks and write the report, check every tutorial claim, then rebuild
## the embedded demo models and check that every number on their cards comes out the same
reproduce: setup
	$(VENV)/bin/internvideo notebooks run --profile tutorial $(if $(JOBS),--jobs $(JOBS))
	$(PY) -m pytest -m tutorial_results
	$(MAKE) embedded-check

## rebuild the embedded models in a temporary folder and compare every card metric with the committed cards
## (~13 min of CPU on one thread; not part of CI)
embedded-check: setup
	nice -n 10 $(PY) tools/build_embedded_models.py --check

## mutation testing of the core (mutmut, each module against its own tests; MODULES="eval/openset.py ..." for a subset)
mutation: setup
	$(PY) tools/mutation.py $(MODULES)

demo: setup
	$(PY) demos/app.py

bench: setup
	$(PY) benchmarks/bench_videomae.py

clean-runs:
	rm -rf runs
