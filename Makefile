# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
INDEX ?= .scoqa/index

.PHONY: run test install index clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first, pinned: pip takes the CPU build from local disk; an unpinned torch pulls several GB.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

index: install
	$(VENV)/bin/scoqa index corpus --index $(INDEX)

run: index
	$(VENV)/bin/scoqa serve --index $(INDEX)

test: install
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .scoqa
