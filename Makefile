# nerwin: `make run` trains, evaluates and tags on the embedded sample; `make test` tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_DIR ?= runs/default
SENTENCE ?= Angela Merkel met Emmanuel Macron in Paris to discuss the European Union budget.

# The shipped English model and its card: package data, read by nerwin.load() and by
# predict/eval without --model (the name "en"). `make model` rebuilds both.
MODEL ?= nerwin/models/en.npz
CARD := $(MODEL:.npz=.json)

.PHONY: install run test test-quick bench model clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,plot,dask]'
	touch $@

run: install
	$(BIN)/nerwin train --config configs/default.toml --out $(RUN_DIR) --overwrite
	$(BIN)/nerwin eval --model $(RUN_DIR) --data data/sample/test.conll
	$(BIN)/nerwin predict --model $(RUN_DIR) "$(SENTENCE)"

# Progress by file in percent, the ten slowest tests at the end.
test: install
	$(BIN)/python -m pytest --durations=10

# Everything but the tests marked slow (trainings, building and installing the wheel).
test-quick: install
	$(BIN)/python -m pytest -m "not slow" --durations=10

# The shipped English model: CoNLL-2003 from NERWIN_CONLL_DIR, configs/conll2003.toml, seed 1.
model: install
	@test -n "$$NERWIN_CONLL_DIR" || { echo "set NERWIN_CONLL_DIR to the CoNLL-2003 folder"; exit 2; }
	$(BIN)/nerwin train --config configs/conll2003.toml --out runs/conll2003-model --overwrite
	cp runs/conll2003-model/model.npz $(MODEL)
	$(BIN)/python -m nerwin.modelcard $(MODEL) "$$NERWIN_CONLL_DIR" > $(CARD).tmp
	mv $(CARD).tmp $(CARD)

bench: install
	OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 $(BIN)/nerwin bench

clean:
	rm -rf $(VENV) runs .pytest_cache
