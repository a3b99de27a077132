# `make test` and `make demo` each create the virtual environment they need (.venv).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ASSETS ?= ../shared/assets

.PHONY: lint test test-fast demo app benchmark clean

$(VENV)/.installed: requirements.txt requirements-test.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-test.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# Lint first (pyflakes, pycodestyle errors, import order): a NameError fails here, not in a user's hands.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

test: lint
	$(PY) -m pytest -q

test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -m "not slow"

# The main job on the real assets: the zoo, a classification, and ILSVRC evaluation.
demo: $(VENV)/.installed
	$(VENV)/bin/ilsvrc-keras models
	$(VENV)/bin/ilsvrc-keras classify $(ASSETS)/ilsvrc2012-val-sample/images/ILSVRC2012_val_00000010.JPEG \
		--model mobilenet_0.25_128 --weights $(ASSETS)/weights/mobilenet_2_5_128_tf.h5
	$(VENV)/bin/ilsvrc-keras evaluate $(ASSETS)/ilsvrc2012-val-sample/images \
		--labels $(ASSETS)/ilsvrc2012-val-sample/LOC_val_solution.csv \
		--model mobilenet_0.25_128 --weights $(ASSETS)/weights/mobilenet_2_5_128_tf.h5

# The web demo on http://localhost:8501 (weights from $(ASSETS)/weights and sample photos from the
# ILSVRC2012 validation sample, unless ILSVRC_KERAS_WEIGHTS_DIR / ILSVRC_KERAS_SAMPLES_DIR are set).
app: $(VENV)/.installed
	ILSVRC_KERAS_WEIGHTS_DIR=$${ILSVRC_KERAS_WEIGHTS_DIR:-$(ASSETS)/weights} \
	ILSVRC_KERAS_SAMPLES_DIR=$${ILSVRC_KERAS_SAMPLES_DIR:-$(ASSETS)/ilsvrc2012-val-sample/images} \
	$(VENV)/bin/streamlit run app/streamlit_app.py

benchmark: $(VENV)/.installed
	$(VENV)/bin/ilsvrc-keras benchmark --task predict --weights $(ASSETS)/weights/mobilenet_2_5_128_tf.h5

clean:
	rm -rf $(VENV) .pytest_cache
