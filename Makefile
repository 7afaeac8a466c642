# Two commands do all the set-up on a fresh machine:
#   make run    install into .venv and run the main job on the embedded default
#   make test   install into .venv (with test tools) and run the tests
PYTHON ?= python3
# PyTorch is pinned here (and in .ci/run and docker/), not in the package metadata. Where
# PyPI serves the CUDA build, add PyTorch's CPU index:
#   make run TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH     ?= torch==2.13.0
TORCH_PIP_ARGS ?=
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test clean

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# CPU build of PyTorch, pinned: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install $(TORCH_PIP_ARGS) "$(TORCH)"
	$(BIN)/pip install -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/superionic run

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build src/*.egg-info
