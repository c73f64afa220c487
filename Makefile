# HemoLens developer commands. `make run` starts the app, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BENCH_ARGS ?=

.PHONY: run test test-slow bench bench-baseline bench-quantization package install install-dev lint-imports

# The virtual environment is made once, and installed into again only when pyproject.toml
# changes (the stamp files): the project is installed in editable mode, so code changes need
# no reinstall, and `make run` / `make test` then work offline.
$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-app: pyproject.toml | $(PY)
	$(PY) -m pip install -e .
	touch $@

# The dev install includes the app's, so it stamps both.
$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install -e ".[training,dev]"
	touch $@ $(VENV)/.installed-app

install: $(VENV)/.installed-app

install-dev: $(VENV)/.installed-dev

# Qt's platform plugin (xcb unless QT_QPA_PLATFORM says otherwise) needs system libraries the wheel
# does not carry: the script names the missing ones and installs them as root, or prints the apt-get line.
run: install
	@PY=$(PY) packaging/qt-system-libs.sh ensure "$$(echo "$${QT_QPA_PLATFORM:-xcb}" | cut -d: -f1)"
	$(PY) -m hemoapp

# Two tiers (the `slow` marker, pyproject.toml): `make test` leaves out the end-to-end training runs,
# `make test-slow` runs only them; .ci/run runs both. Times are in the README.
test: install-dev
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m "not slow"

test-slow: install-dev
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m slow

# Classify 2,000 files end to end; e.g. `make bench BENCH_ARGS="--count 10000 --model models/x.tflite"`.
bench: install
	$(PY) benchmarks/bench_classify.py $(BENCH_ARGS)

lint-imports: install-dev
	$(VENV)/bin/lint-imports

# The packaged app (PyInstaller, one folder in dist/hemolens); builds, then runs its self-test in a clean environment (env -i, no venv).
package:
	packaging/build.sh

# HemoLens vs the published approach (Keras InceptionV3, one image at a time) in one run; see README "Performance".
bench-baseline: install-dev
	$(PY) benchmarks/bench_vs_baseline.py $(BENCH_ARGS)

# Val accuracy and LiteRT speed of one Keras model exported several ways; see README "How the input was chosen".
bench-quantization: install-dev
	$(PY) benchmarks/bench_quantization.py $(BENCH_ARGS)
