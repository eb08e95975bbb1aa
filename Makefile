# Everything runs from the project's own virtualenv (.venv, the one Pulumi.yaml names).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev

.PHONY: test lint setup preflight policy-table preview up destroy clean pulumi-cli

test: setup ## Install pinned dependencies and run the tests offline, under Pulumi mocks
	$(PY) -m pytest

lint: setup ## Static checks for real mistakes (undefined/unused names, likely bugs)
	$(VENV)/bin/ruff check .

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt policies/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The deploy path needs the Pulumi CLI, which this Makefile does not install.
pulumi-cli:
	@command -v pulumi >/dev/null 2>&1 || { \
	  echo "The Pulumi CLI is not installed. Install it (https://www.pulumi.com/docs/install/), then run"; \
	  echo "'pulumi login --local' (or log in to your team's backend) and try again."; \
	  exit 127; }

preflight: setup ## Render STACK offline under mocks and run the policy pack on it (no AWS, no CLI)
	$(PY) -m preflight --stack $(STACK)

policy-table: setup ## Regenerate the README's policy reference table from the rules and configs
	PYTHONPATH=policies:. $(PY) -m ecs_fargate_rules.reference README.md

preview: setup pulumi-cli ## `pulumi preview` with the policy pack at the stack's environment's levels
	pulumi preview --stack $(STACK) --diff --policy-pack policies \
	  --policy-pack-config "$$($(PY) -m preflight --stack $(STACK) --print-policy-config)"

up: setup pulumi-cli ## Deploy the stack
	pulumi up --stack $(STACK)

destroy: pulumi-cli
	pulumi destroy --stack $(STACK)

clean:
	rm -rf $(VENV) .pytest_cache
