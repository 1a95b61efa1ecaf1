# The README's commands. Everything lives in a virtual environment at $(VENV).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ipyviz-installed
export TF_CPP_MIN_LOG_LEVEL ?= 2
export KERAS_BACKEND ?= tensorflow

.PHONY: demo test test-python test-js test-browser bench build clean

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

## test: every test: JS unit (vitest), Python, real-browser (JupyterLab + Chromium)
test: build
	npm test
	$(PY) -m pytest tests -m "not browser" -q
	$(PY) -m pytest tests/browser -m browser -q

test-python: build
	$(PY) -m pytest tests -m "not browser" -q

test-browser: build
	$(PY) -m pytest tests/browser -m browser -q

## bench: every benchmark in benchmarks/, each printing ipyviz beside its anchor
bench: build
	for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) node_modules ipyviz/static
