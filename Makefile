# `make demo` and `make test` work on a fresh machine: they create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint clean chromium slurm

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, so pip takes the CPU build on disk instead of fetching a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/agora demo

# The report test renders HTML in headless Chromium: install it where apt works, else that test skips.
chromium:
	command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: the report's browser test will skip"; }

lint: install
	$(BIN)/ruff check .

# The executor tests start a one-node Slurm (slurm-wlm, munge) in a network namespace: install it where apt
# works (as root), else those tests skip. Ray comes with the test extra.
slurm:
	command -v slurmctld >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null) || \
	  echo "slurm not installed: the Slurm executor test will skip"; }

test: install chromium slurm
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) agora-workspace
