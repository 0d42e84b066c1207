# SpineBridge: `make run` sets up and starts everything; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py
# The app defaults to production settings; the laptop commands ask for development ones.
export SPINEBRIDGE_ENV ?= development
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install translations migrate seed lint vendor extract-messages bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "SpineBridge needs Python 3.11 or newer (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed

# Compiled catalogues (.mo) are build output; the .po files are the source.
translations: install
	@$(BIN)/pybabel compile -d translations >/dev/null

extract-messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

migrate: translations
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask seed-demo

# Web + Celery worker + beat + a local SMTP sink that prints every email it receives.
# Ctrl-C stops them all (they share this shell's process group).
SINK_PORT ?= 8025
# Deposits: without STRIPE_SECRET_KEY a local Stripe stand-in takes the test cards; with real keys
# (and no STRIPE_API_BASE) the same code talks to Stripe.
STRIPE_PORT ?= 12111
run: seed
	@echo ""
	@echo "  SpineBridge is starting on http://$(HOST):$(PORT)"
	@echo "  Demo logins are listed above. Emails go to a local SMTP sink on 127.0.0.1:$(SINK_PORT)"
	@echo "  and are printed here; admins also see every message under Admin > Messages."
	@echo "  Press Ctrl-C to stop web, worker, beat and the mail sink."
	@echo ""
	@export MAIL_BACKEND=smtp MAIL_SERVER=127.0.0.1 MAIL_PORT=$(SINK_PORT); \
	export BASE_URL="$${BASE_URL:-http://$(HOST):$(PORT)}"; \
	$(BIN)/python -m aiosmtpd -n -l 127.0.0.1:$(SINK_PORT) -c aiosmtpd.handlers.Debugging \
		</dev/null & pids="$$!"; \
	if [ -z "$$STRIPE_SECRET_KEY" ]; then \
		export STRIPE_SECRET_KEY=sk_test_local_standin STRIPE_WEBHOOK_SECRET=whsec_local_standin \
			STRIPE_API_BASE=http://127.0.0.1:$(STRIPE_PORT); \
		$(BIN)/python -m stripe_standin --port $(STRIPE_PORT) \
			--webhook-url "$$BASE_URL/stripe/webhook" </dev/null & pids="$$pids $$!"; \
		echo "  Deposits go to a local Stripe stand-in on 127.0.0.1:$(STRIPE_PORT): pay with card 4242 4242 4242 4242."; \
	fi; \
	$(BIN)/celery -A worker.app worker --pool solo --concurrency 1 --loglevel INFO \
		</dev/null & pids="$$pids $$!"; \
	$(BIN)/celery -A worker.app beat --loglevel INFO --schedule instance/celerybeat-schedule \
		</dev/null & pids="$$pids $$!"; \
	trap 'trap - INT TERM HUP EXIT; kill -TERM $$pids 2>/dev/null; wait; echo "  stopped"' \
		INT TERM HUP EXIT; \
	$(BIN)/flask run --host $(HOST) --port $(PORT) --no-reload

test: translations
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

# Refresh the vendored front-end files from the npm registry (versions in package.json).
vendor:
	npm install --no-save --no-audit --no-fund
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/css/bootstrap.rtl.min.css static/vendor/bootstrap/css/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js static/vendor/bootstrap/js/
	cp node_modules/axe-core/axe.min.js tests/e2e/vendor/
	sed -i 's|/\*# sourceMappingURL=.*\*/||' static/vendor/bootstrap/css/*.css
	sed -i 's|//# sourceMappingURL=.*||' static/vendor/bootstrap/js/*.js

clean:
	rm -rf $(VENV) instance/*.sqlite instance/celerybeat-schedule*
