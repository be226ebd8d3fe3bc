# Two entry points for a fresh machine (see README):
#   make demo   set up, then run the main job on the seed data
#   make test   set up (Label Studio included), then run the whole test suite (make test-fast: the fast lane)
PYTHON ?= python3
VENV   := .venv
LSVENV := .venv-ls
BIN    := $(VENV)/bin

.PHONY: setup label-studio demo lint test test-fast clean

setup: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "indoevent needs Python >= 3.11 (pyproject.toml): run make PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: an unpinned torch pulls a CUDA build of several GB.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Label Studio lives in its own venv (its Django pins clash with the project's); the
# integration tests start it from LABEL_STUDIO_BIN.
label-studio: $(LSVENV)/.installed
$(LSVENV)/.installed:
	$(PYTHON) -m venv $(LSVENV)
	$(LSVENV)/bin/pip install --quiet 'label-studio>=1.23,<1.24'
	touch $@

demo: setup
	$(BIN)/indoevent validate annotations/seeds.json --config annotations/label_config.xml
	$(BIN)/indoevent convert annotations/seeds.json --out data/seeds --strict --overwrite
	$(BIN)/indoevent train --config training/configs/tiny.yaml --output-dir models/tiny --overwrite
	$(BIN)/indoevent extract seeds/ --model models/tiny --out results/seeds.jsonl --overwrite
	# An honest score: the tiny model trained on four seed articles, evaluated on the fifth.
	$(BIN)/indoevent train --config training/configs/tiny.yaml --output-dir models/tiny-4 --overwrite \
	  --data.dev=0 --data.test=[004_81279350a79d8947]
	$(BIN)/indoevent evaluate models/tiny-4 --data annotations/seeds.json --articles 004_81279350a79d8947 \
	  --out results/eval-tiny-4 --overwrite > /dev/null
	@$(BIN)/python -m indoevent.evaluation.views results/seeds.jsonl
	@echo; echo "evaluation report (trained on 4 seed articles, tested on the 5th): $(CURDIR)/results/eval-tiny-4/report.html"
	# The analyst's view: the seeds' extraction and its merged events in one HTML file.
	$(BIN)/indoevent merge results/seeds.jsonl --index seeds/index.json --out results/merged --overwrite --no-progress
	$(BIN)/indoevent view results/seeds.jsonl --texts seeds/ --merged results/merged --out results/view.html --overwrite
	@echo; echo "view of the seeds' extraction and merged events: $(CURDIR)/results/view.html"

# The layer contract (pyproject.toml), ruff on the code and tests, mypy on the package; pinned in
# the dev extra. make test and make test-fast run it first.
lint: setup
	$(BIN)/lint-imports
	$(BIN)/ruff check indoevent tests benchmarks
	$(BIN)/mypy

test: lint label-studio
	LABEL_STUDIO_BIN=$(CURDIR)/$(LSVENV)/bin/label-studio $(BIN)/python -m pytest -q -rs

# The fast lane (under 2 minutes on 2 cores): no test marked slow (training, ONNX export, Ray,
# notebooks, a browser) and no Label Studio server.
test-fast: lint
	$(BIN)/python -m pytest -q -rs -m "not slow and not labelstudio"

clean:
	rm -rf data results models/tiny models/_base .pytest_cache
