# `make test` and `make demo` each create the virtual environment they need (.venv).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ASSETS ?= ../shared/assets

.PHONY: lint test test-fast wheel-check demo app benchmark clean

$(VENV)/.installed: requirements.txt requirements-test.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-test.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# Lint first (pyflakes, pycodestyle errors, import order): a NameError fails here, not in a user's hands.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

# The suite on every core (pytest-xdist; a file's tests stay in one process, with their module fixtures).
test: lint
	$(PY) -m pytest -q -n auto --dist loadfile

# The wheel a user installs, alone in a fresh virtualenv (no requirements.txt), run from outside the
# source tree: the package, its entry point and the app's page must all be inside it.
wheel-check:
	rm -rf dist .wheel-venv
	$(PYTHON) -m pip wheel --quiet --no-deps -w dist .
	$(PYTHON) -m venv .wheel-venv
	.wheel-venv/bin/python -m pip install --quiet "$$(ls dist/ilsvrc_keras-*.whl)[app]"
	cd / && $(CURDIR)/.wheel-venv/bin/ilsvrc-keras --version
	cd / && $(CURDIR)/.wheel-venv/bin/ilsvrc-keras models --json > /dev/null
	cd / && $(CURDIR)/.wheel-venv/bin/ilsvrc-keras app --help > /dev/null
	cd / && $(CURDIR)/.wheel-venv/bin/python -c "import ilsvrc_keras.app, pathlib; assert ilsvrc_keras.app.SCRIPT.is_file()"
	@echo "wheel-check: the wheel installs and runs"

# Without the tests marked slow (each over about 4 s: training, subprocesses, the browser).
test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -n auto --dist loadfile -m "not slow"

# The main jobs on a public-domain photo every install has (matplotlib's Grace Hopper): the zoo, a
# classification and a localization, offline, with the MobileNet-0.25 inside the package. With the
# development assets, also ILSVRC evaluation on 100 validation images.
HOPPER = $$($(PY) -c "import matplotlib.cbook as c; print(c.get_sample_data('grace_hopper.jpg', asfileobj=False))")

demo: $(VENV)/.installed
	$(VENV)/bin/ilsvrc-keras models
	ILSVRC_KERAS_OFFLINE=1 $(VENV)/bin/ilsvrc-keras classify "$(HOPPER)" --model mobilenet_0.25_128
	ILSVRC_KERAS_OFFLINE=1 $(VENV)/bin/ilsvrc-keras localize "$(HOPPER)" --model mobilenet_0.25_128 --top 1 --out demo-localization.png --overwrite
	@if [ -d $(ASSETS)/ilsvrc2012-val-sample ]; then \
	  ILSVRC_KERAS_OFFLINE=1 $(VENV)/bin/ilsvrc-keras evaluate $(ASSETS)/ilsvrc2012-val-sample/images \
	    --labels $(ASSETS)/ilsvrc2012-val-sample/LOC_val_solution.csv --model mobilenet_0.25_128; fi

# The web demo on http://localhost:8501 (weights from $(ASSETS)/weights and sample photos from the
# ILSVRC2012 validation sample, unless ILSVRC_KERAS_WEIGHTS_DIR / ILSVRC_KERAS_SAMPLES_DIR are set).
app: $(VENV)/.installed
	ILSVRC_KERAS_WEIGHTS_DIR=$${ILSVRC_KERAS_WEIGHTS_DIR:-$(ASSETS)/weights} \
	ILSVRC_KERAS_SAMPLES_DIR=$${ILSVRC_KERAS_SAMPLES_DIR:-$(ASSETS)/ilsvrc2012-val-sample/images} \
	$(VENV)/bin/ilsvrc-keras app

benchmark: $(VENV)/.installed
	$(PY) -m benchmarks predict --weights $(ASSETS)/weights/mobilenet_2_5_128_tf.h5

clean:
	rm -rf $(VENV) .pytest_cache .wheel-venv dist build
