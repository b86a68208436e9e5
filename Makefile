# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
WB := samples/workbooks
EX := samples/exports

.PHONY: demo test lint format bench samples clean docs lab screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/charges validate --workbooks $(WB)
	rm -rf out
	$(BIN)/charges init --history out/history.sqlite
	grep -v '^#' samples/demo-imports.txt | while IFS='|' read -r app loc file; do \
		slug=$$(echo "$$app" | tr 'A-Z ' 'a-z-'); \
		[ -e "out/$$slug" ] && slug="$$slug-next"; \
		echo "== $$app at $$loc: $$file"; \
		$(BIN)/charges import --workbooks $(WB) --location "$$loc" --application "$$app" \
			--history out/history.sqlite --batch-date 2026-10-31 --out "out/$$slug" \
			"$(EX)/$$file" || exit 1; \
	done
	$(BIN)/charges report out/*/ --summary-dir out
	$(BIN)/charges export $$(grep -l '"location": "London"' out/*/manifest.json | xargs -n1 dirname) \
		--to xero --out out/invoices-london-xero.csv
	$(BIN)/charges history --history out/history.sqlite | head -8
	@echo "Batches are in out/: open out/*/batch.xlsx, out/*/reports/*.html and out/period-summary.html"
	@echo "out/invoices-london-xero.csv is London's invoices as Xero's import file"
	@echo "out/reception-pbx-next overlaps out/reception-pbx: its shared calls are skipped as already-billed"

test: $(STAMP)
	$(BIN)/ruff check processor schemas tests bench samples
	$(BIN)/ruff format --check processor schemas tests bench samples
	$(BIN)/pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check --fix processor schemas tests bench samples
	$(BIN)/ruff format processor schemas tests bench samples

samples: $(STAMP)
	$(BIN)/python -m samples.generate

# the whole-process measurements run in an install without the dev extras, as users have it
# (with ipykernel: bench_report_calls measures a kernel per notebook as its yardstick)
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed-stamp

$(BENCH_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet . ipykernel
	touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	BENCH_PYTHON=$(BENCH_VENV)/bin/python $(BIN)/python bench/bench_engine.py
	BENCH_PYTHON=$(BENCH_VENV)/bin/python $(BIN)/python bench/bench_workbooks.py
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_reports.py
	BENCH_PYTHON=$(BENCH_VENV)/bin/python $(BIN)/python bench/bench_report_calls.py
	$(BIN)/python bench/bench_history.py
	$(BIN)/python bench/bench_history_server.py

# JupyterLab on notebooks/, with the Reception PBX demo batch preset (run make demo first)
lab: $(STAMP)
	test -d out/reception-pbx || $(MAKE) demo
	CHARGES_BATCH=$(CURDIR)/out/reception-pbx $(BIN)/jupyter lab --notebook-dir=notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root)

# Pictures of what a clerk opens (batch.xlsx and codes-to-add.xlsx as printed, a statement,
# billing.html, unmatched.html) into screenshots/.
# Needs LibreOffice, poppler and Chromium: apt-get install libreoffice-calc-nogui poppler-utils chromium
SHOT := out/reception-pbx
screenshots: $(STAMP)
	test -d $(SHOT) || $(MAKE) demo
	mkdir -p screenshots
	libreoffice --headless --convert-to pdf --outdir screenshots $(SHOT)/batch.xlsx >/dev/null
	pdftoppm -png -r 80 screenshots/batch.pdf screenshots/batch
	libreoffice --headless --convert-to pdf --outdir screenshots $(SHOT)/reports/codes-to-add.xlsx >/dev/null
	pdftoppm -png -r 80 screenshots/codes-to-add.pdf screenshots/codes-to-add
	pdftoppm -png -r 80 -f 1 -l 1 "$$(ls $(SHOT)/reports/statements/*.pdf | head -1)" screenshots/statement
	for page in billing unmatched; do \
		chromium --headless --no-sandbox --disable-gpu --window-size=1300,2600 \
			--screenshot=screenshots/$$page.png $(SHOT)/reports/$$page.html 2>/dev/null || exit 1; \
	done
	@ls screenshots

clean:
	rm -rf $(VENV) $(BENCH_VENV) out .pytest_cache .ruff_cache

docs: $(STAMP)
	$(BIN)/python -m processor.docs
	$(BIN)/python -m tests.test_broken_inputs
