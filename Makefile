# The two set-up commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test compat compat-all corpus corpus-fast install lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first and pinned: a CPU build on this disk; never let pip resolve a CUDA one.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[test]" "torch==2.13.0"
	touch $(STAMP)

install: $(STAMP)

# The quickstart (logging by hand), then an unchanged scikit-learn script under
# `autolog run`, into the embedded store ./demo-runs; then what was recorded.
demo: $(STAMP)
	AUTOLOG_TRACKING_URI=$(CURDIR)/demo-runs $(PY) examples/quickstart.py
	AUTOLOG_TRACKING_URI=$(CURDIR)/demo-runs $(VENV)/bin/autolog run --no-run examples/sklearn_example.py
	AUTOLOG_TRACKING_URI=$(CURDIR)/demo-runs $(VENV)/bin/autolog experiments
	AUTOLOG_TRACKING_URI=$(CURDIR)/demo-runs $(VENV)/bin/autolog runs list

# The UI's browser tests drive Debian's Chromium (never a downloaded browser build). Only
# this target installs it, and says so; `make demo` and `make install` never do.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "make test: installing Debian's chromium for the UI browser tests (apt-get)"; \
	  { command -v apt-get >/dev/null 2>&1 && apt-get update -q && \
	    apt-get install -y -q chromium; } || \
	  echo "chromium not installed: the UI browser tests will be skipped"; }

test: $(STAMP) chromium
	$(PY) -m ruff check autolog tests benchmarks examples
	AUTOLOG_STRICT=1 $(PY) -m pytest $(PYTEST_ARGS)

# scikit-learn's own tests, plainly and with autologging on (compat/run_sklearn.py).
compat: $(STAMP)
	$(PY) compat/run_sklearn.py

# keras's and torch's own shipped tests likewise, and XGBoost's and LightGBM's own test
# files bare, with autologging and strict (compat/run_frameworks.py; their tests come from
# a cache that compat/fetch_peer_tests.py fills: needs a clone or network once).
compat-all: $(STAMP)
	$(PY) compat/run_frameworks.py

# Real training scripts from the frameworks' example galleries, run bare and under
# `autolog run` and compared (compat/corpus/run_corpus.py; sources fetched from the
# package registries into .corpus-work/). corpus-fast: the subset CI runs (< 10 minutes).
corpus: $(STAMP)
	$(PY) compat/corpus/run_corpus.py

corpus-fast: $(STAMP)
	$(PY) compat/corpus/run_corpus.py --fast

# The benchmarks' own set-up installs MLflow to compare against (not a runtime dependency).
# Byte-code is compiled first, as an install would: import times are then those a user
# sees, also in a shell that sets PYTHONDONTWRITEBYTECODE.
bench: $(STAMP)
	$(PIP) install -q mlflow "torch==2.13.0"
	$(PY) -m compileall -q autolog
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) demo-runs .pytest_cache
