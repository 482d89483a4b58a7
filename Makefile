# The two commands of the README are `make serve` and `make test`; both set up a fresh machine first.
PY := .venv/bin/python
PORT ?= 8000
DATA ?= ../shared/data/seed-faces

.PHONY: setup build serve test test-unit test-browser weights bench clean

setup:
	bash scripts/setup.sh

build: setup
	$(PY) build.py

serve: setup
	$(PY) build.py --serve --port $(PORT)

test: build
	$(PY) -m pytest -q

test-unit: setup
	$(PY) -m pytest -q -m "not browser"

test-browser: build
	$(PY) -m pytest -q -m browser

weights: setup
	$(PY) -m facespectra.cli train $(DATA) --config axes64g8 --out weights/model.json --report reports/shipped

bench: build
	$(PY) bench/run.py

clean:
	rm -rf dist .cache reports
