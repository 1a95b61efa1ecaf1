# The README's commands. Everything lives in a virtual environment at $(VENV).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ipyviz-installed
export TF_CPP_MIN_LOG_LEVEL ?= 2
export KERAS_BACKEND ?= tensorflow

.PHONY: demo test test-python test-jax test-torch test-js test-browser bench build clean

$(STAMP): pyproject.toml package.json package-lock.json
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

build: $(STAMP) node_modules/.package-lock.json
	npm run build

## demo: venv + install + build, then JupyterLab on examples/
demo: build
	$(VENV)/bin/jupyter lab examples/

## test: every test: JS unit (vitest), Python on TensorFlow, JAX and torch, real-browser (JupyterLab + Chromium)
# The Python suite runs once per Keras backend (a backend is chosen at import, so one process each).
# On JAX and torch the few TensorFlow-only tests skip themselves and say why (pytest -ra lists them).
PYTEST_CORE := $(PY) -m pytest tests -m "not browser" -q
test: build
	npm test
	KERAS_BACKEND=tensorflow $(PYTEST_CORE)
	KERAS_BACKEND=jax $(PYTEST_CORE)
	KERAS_BACKEND=torch $(PYTEST_CORE)
	KERAS_BACKEND=tensorflow $(PY) -m pytest tests/browser -m browser -q

## test-python: the Python suite on $(KERAS_BACKEND) (default tensorflow); test-jax, test-torch: on those
test-python: build
	$(PYTEST_CORE)

test-jax: build
	KERAS_BACKEND=jax $(PYTEST_CORE)

test-torch: build
	KERAS_BACKEND=torch $(PYTEST_CORE)

test-browser: build
	KERAS_BACKEND=tensorflow $(PY) -m pytest tests/browser -m browser -q

## bench: every benchmark in benchmarks/, each printing ipyviz beside its anchor
bench: build
	for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) node_modules ipyviz/static
