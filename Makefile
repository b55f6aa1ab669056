# Every target installs what is missing first (tools/install.sh is idempotent and caches mmcv).
VENV ?= .venv
ifeq ($(VENV),none)
PY ?= python3
else
PY ?= $(VENV)/bin/python
endif
STAMP := $(if $(filter none,$(VENV)),.install-stamp,$(VENV)/.install-stamp)
PYTEST_ARGS ?=
# test files spread over one pytest worker per core (xdist; a file's tests stay on one worker, so
# its module fixtures are built once); PYTEST_JOBS=0 runs them in this one process
PYTEST_JOBS ?= auto
XDIST := $(if $(filter 0,$(PYTEST_JOBS)),,-n $(PYTEST_JOBS) --dist loadfile)

.PHONY: install test test-fast demo lint format benchmark docs clean

$(STAMP): tools/install.sh setup.cfg
	VENV=$(VENV) bash tools/install.sh
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest $(XDIST) -m "not slow" $(PYTEST_ARGS)

demo: $(STAMP)
	bash tools/demo.sh

lint: $(STAMP)
	$(PY) -m flake8 fashionpedia_plugin tools tests configs
	$(PY) -m isort --check-only --diff fashionpedia_plugin tools tests
	$(PY) -m yapf --diff --recursive fashionpedia_plugin tools tests

format: $(STAMP)
	$(PY) -m isort fashionpedia_plugin tools tests
	$(PY) -m yapf -i --recursive fashionpedia_plugin tools tests

benchmark: $(STAMP)
	$(PY) tools/analysis_tools/benchmark_eval.py

docs: $(STAMP)
	$(PY) -m mkdocs build --strict --site-dir build/site

clean:
	rm -rf $(STAMP) build *.egg-info .pytest_cache
