# nerwin: `make run` trains, evaluates and tags on the embedded sample; `make test` tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_DIR ?= runs/default
SENTENCE ?= Angela Merkel met Emmanuel Macron in Paris to discuss the European Union budget.

.PHONY: install run test bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: install
	$(BIN)/nerwin train --config configs/default.toml --out $(RUN_DIR)
	$(BIN)/nerwin eval --model $(RUN_DIR) --data data/sample/test.conll
	$(BIN)/nerwin predict --model $(RUN_DIR) "$(SENTENCE)"

test: install
	$(BIN)/python -m pytest -q

bench: install
	OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 $(BIN)/nerwin bench

clean:
	rm -rf $(VENV) runs .pytest_cache
