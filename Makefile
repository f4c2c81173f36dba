# Set-up, server, tests and benchmark. Every step installs what it needs, so each target works on a
# fresh machine with python3 (3.11+), pip's access to PyPI and, for tests and benchmarks, apt-get.

UV_VERSION := 0.13.9
UV := .tools/bin/uv
PYTHON := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
DATABASE ?= sqlite:///cocvm.db
PYTEST_ARGS ?=

.PHONY: install serve test lint bench clean

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	touch $@

install: .venv/.synced

serve: install
	.venv/bin/cocvm serve --host $(HOST) --port $(PORT) --database $(DATABASE)

test: install
	scripts/install-clients.sh
	scripts/services.sh install
	$(PYTHON) -m pytest $(PYTEST_ARGS)

lint: install
	.venv/bin/ruff check src tests
	.venv/bin/mypy

bench: install
	$(PYTHON) -m bench.run

clean:
	rm -rf .venv .tools .clients .bench
