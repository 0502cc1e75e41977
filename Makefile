# Every target sets up what it needs: a fresh machine needs only `make demo` or `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench setup clean chart-files system-packages

setup: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/pipechaos run experiments/consumer-kill.yaml

lint: $(STAMP)
	$(VENV)/bin/ruff check chaos targets tests benchmarks
	$(VENV)/bin/mypy

# installs (as root on Debian) or names the system packages some tests need; see its list
system-packages:
	bash scripts/system-packages.sh

test: lint system-packages
	$(VENV)/bin/pytest -q

# every benchmark, full size; then make fails naming each one that failed
bench: $(STAMP)
	@failed=""; for b in benchmarks/[!_]*.py; do \
	    echo "== $$b"; \
	    $(PY) $$b || { echo "make bench: $$b FAILED (exit $$?)" >&2; failed="$$failed $$b"; }; \
	done; \
	if [ -n "$$failed" ]; then echo "make bench: FAILED:$$failed" >&2; exit 1; fi

# the runner chart ships the library (experiments/) and the Kubernetes target as its own
# files (Helm reads nothing outside a chart); tests/charts checks the copy is current
chart-files:
	rm -rf charts/pipechaos/files/experiments charts/pipechaos/files/targets
	mkdir -p charts/pipechaos/files/experiments charts/pipechaos/files/targets
	cp experiments/*.yaml charts/pipechaos/files/experiments/
	cp targets/reference-k8s.yaml charts/pipechaos/files/targets/

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache
