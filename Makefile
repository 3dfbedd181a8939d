# Koalicja: `make run` serves the demo, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
DEV_ENV := KOALICJA_ENV=development

.PHONY: run test install install-test translations messages test-packages browser postgresql nginx pdf wrk screenshots bench scan mutation clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed translations

install-test: $(VENV)/.installed-test translations

# Flask-Babel catalogues (Polish is the source language): the .mo files are built, not kept in git.
TRANSLATIONS := koalicja/translations
PYBABEL := $(BIN)/pybabel

translations: | $(VENV)/.installed
	$(PYBABEL) --quiet compile --statistics --directory $(TRANSLATIONS)

# After changing texts: extract the Polish messages again and merge them into every catalogue.
messages: | $(VENV)/.installed
	$(PYBABEL) extract --mapping-file babel.cfg --keyword _l --add-location file --sort-by-file --no-wrap \
		--project Koalicja --version 0.1.0 --copyright-holder Koalicja --msgid-bugs-address '' --output-file $(TRANSLATIONS)/messages.pot .
	$(PYBABEL) update --input-file $(TRANSLATIONS)/messages.pot --output-dir $(TRANSLATIONS) --no-wrap --ignore-obsolete

# `make run PORT=5091` serves on another port; e-mailed links follow it (unless BASE_URL is set).
PORT ?= 5000
RUN_BASE_URL := $(or $(BASE_URL),http://127.0.0.1:$(PORT))
RUN_ENV := $(DEV_ENV) BASE_URL=$(RUN_BASE_URL)

run: install pdf
	$(RUN_ENV) $(FLASK) init-db
	$(RUN_ENV) $(FLASK) seed-demo
	@echo "Strona: $(RUN_BASE_URL)  (e-maile trafiają do instance/outbox/ i na konsolę)"
	@$(RUN_ENV) $(FLASK) send-mail --watch & MAILER=$$!; \
	(while sleep 60; do $(RUN_ENV) $(FLASK) consultations-tick >/dev/null; done) & TICKER=$$!; \
	trap 'kill $$MAILER $$TICKER 2>/dev/null' EXIT INT TERM; \
	$(RUN_ENV) $(FLASK) run --host 127.0.0.1 --port $(PORT)

# Debian packages the tests and printouts use. Each test that needs one starts its own
# throw-away server or process on 127.0.0.1 (never the system's), and is skipped with a message
# naming the package when it is missing (a failure under CI=true).
#   chromium                 browser tests and screenshots (driven by Playwright)
#   postgresql               every database test runs on SQLite and on PostgreSQL
#   redis-server             limits shared by several workers and servers
#   nginx                    the deploy/nginx/ kit in front of gunicorn
#   default-jre-headless     the Nu HTML checker (vnu.jar) over every page the browser tests load
#   spamassassin             scores every kind of e-mail the app sends, offline
#   fonts-dejavu-core        Polish letters in the share image and the PDFs
#   libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0   WeasyPrint (the PDF printouts;
#                            without them the app runs and the PDF addresses answer 503)
#   poppler-utils            pdftotext, for the tests that read the PDFs back
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils
TEST_PACKAGES := chromium postgresql redis-server nginx default-jre-headless spamassassin $(PDF_PACKAGES)

# Installs the missing ones of $(1) with one `apt-get update` when we are root; else names them.
define debian_packages
	@missing=""; for package in $(1); do \
		dpkg-query -W -f='$${db:Status-Status}' $$package 2>/dev/null | grep -qx installed || missing="$$missing $$package"; \
	done; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then echo "apt-get install$$missing"; apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	else echo "Brak pakietów Debiana:$$missing. Zainstaluj je (sudo apt-get install$$missing), inaczej to, co ich potrzebuje, zostanie pominięte."; fi
endef

test-packages:
	$(call debian_packages,$(TEST_PACKAGES))

browser:
	$(call debian_packages,chromium)

postgresql:
	$(call debian_packages,postgresql)

nginx:
	$(call debian_packages,nginx)

pdf:
	$(call debian_packages,$(PDF_PACKAGES))

# One pytest worker per core (pytest-xdist); each starts its own PostgreSQL and SMTP server.
test: install-test test-packages
	$(BIN)/python -m pytest -q -n auto

# Mutation testing (not part of `make test`): mutmut ([tool.mutmut] in pyproject.toml) works in
# mutants/ and keeps its results there, so a second run only checks what
# changed. MUTANTS narrows it, e.g. make mutation MUTANTS='koalicja.coordinators.access.*'.
# Then the score per module and every survivor not listed in mutation/equivalent.txt.
MUTANTS ?=
mutation: install-test
	$(BIN)/pip install --quiet -e '.[test,mutation]'
	KOALICJA_TEST_DATABASES=sqlite $(BIN)/mutmut run --max-children 2 $(if $(MUTANTS),"$(MUTANTS)")
	$(BIN)/python mutation/report.py

screenshots: install-test browser
	$(BIN)/python -m tests.screenshots docs/screenshots

# A real web vulnerability scanner (Debian's wapiti) against the app on 127.0.0.1; see docs/security.md.
scan: install-test
	@command -v wapiti >/dev/null || (apt-get update -qq && apt-get install -y -qq wapiti >/dev/null)
	$(BIN)/python -m tests.security_scan

# Load test against bare Flask and the minimal signing app, alone and through the kit's nginx
# (bench/README.md): wrk, PostgreSQL and nginx from Debian, installed with apt when we are root.
# BENCH_DATABASES="sqlite" (or "postgresql") limits it to one database; BENCH_FLAGS passes more
# options to bench/run.py (e.g. --no-proxy, --only WORD, --keep).
wrk:
	@if command -v wrk >/dev/null; then :; \
	elif [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
	else echo "Brak wrk: zainstaluj pakiet 'wrk' (sudo apt-get install wrk)."; exit 1; fi

BENCH_DATABASES ?= postgresql sqlite

BENCH_FLAGS ?=

# The nginx phase renders the kit with tests/nginx.py, hence the test dependencies.
bench: install-test wrk postgresql nginx
	$(BIN)/python -m bench.run $(foreach database,$(BENCH_DATABASES),--database $(database)) $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) *.egg-info
