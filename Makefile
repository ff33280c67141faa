# The two set-up commands: `make run` (the app on the default lesson) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# `make run` opens the course on its first step; `make lesson` runs its first experiment headless.
COURSE := resources/lessons/course.toml
LESSON := resources/lessons/why-deep-learning.toml
# Debian packages Qt needs to run headless (Xvfb, xcb platform plugin, fonts).
QT_DEBS := xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
	libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1 \
	libfontconfig1 libdbus-1-3 fonts-dejavu-core

.PHONY: run test test-slow bench screenshots system-deps lesson package package-test clean

# Bytecode, as pip writes it for a regular install: an editable one leaves it to the first import,
# which does not write it where PYTHONDONTWRITEBYTECODE is set, so every start would compile again.
COMPILE := $(PY) -m compileall -q cvstudio plugins

# The example plugins install like a third party's; `make test` runs their tests too.
EXAMPLES := $(wildcard plugins/examples/*/pyproject.toml)

$(STAMP): pyproject.toml $(EXAMPLES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,cluster]" $(foreach example,$(EXAMPLES),-e $(dir $(example)))
	$(COMPILE)
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m cvstudio gui $(COURSE)

system-deps:
	@if ! command -v Xvfb >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(QT_DEBS); \
		else echo "Install Qt's headless packages first: sudo apt-get install $(QT_DEBS)"; exit 1; fi; \
	fi

test: $(STAMP) system-deps
	$(PY) -m pytest

test-slow: $(STAMP) system-deps
	$(PY) -m pytest -m slow

lesson: $(STAMP)
	$(PY) -m cvstudio run $(LESSON)

# `make bench ARGS="--quick"`: small workloads, a check that it all runs; ARGS="--repeat 9": more pairs.
bench: $(STAMP) system-deps
	$(COMPILE)
	$(PY) benchmarks/run.py $(ARGS)

# `make screenshots RUNS=dir`: keep the runs in dir and reuse a study's run at the same settings next time;
# ARGS="--only data-scaling": render some groups of pictures only.
screenshots: $(STAMP) system-deps
	xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) scripts/screenshots.py $(if $(RUNS),--runs $(RUNS)) $(ARGS)

# The desktop bundle (packaging/README.md): TORCH=venv bundles this venv's torch, TORCH=cpu a CPU-only one.
TORCH ?= venv
PACKAGE_ENV := TORCH=$(TORCH) VENV=$(VENV) PYTHON=$(PYTHON)

package: $(STAMP)
	$(PACKAGE_ENV) packaging/build.sh

package-test: $(STAMP)
	$(PACKAGE_ENV) packaging/test_package.sh

clean:
	rm -rf $(VENV) build dist *.egg-info
