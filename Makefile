# Everything runs from the project's own virtualenv (.venv, the one Pulumi.yaml names).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
# The policy pack and the virtualenv its PulumiPolicy.yaml names (runtime.options.virtualenv,
# relative to the pack directory): the Pulumi CLI starts the pack with $(PACK_VENV)/bin/python.
PACK := policies
PACK_VENV := $(PACK)/venv
# The CrossGuard config file of the stack's environment (policies/config/<environment>.json).
# Expanded only when a recipe that uses it runs, after `setup` has created .venv.
POLICY_CONFIG = $(or $(shell $(PY) -m preflight --stack $(STACK) --print-policy-config),$(error \
  no policy config for stack $(STACK); see the preflight message above))
POLICY_FLAGS = --policy-pack $(PACK) --policy-pack-config "$(POLICY_CONFIG)"

.PHONY: test lint setup preflight policy-table preview up destroy clean pulumi-cli

test: setup ## Install pinned dependencies and run the tests offline, under Pulumi mocks
	$(PY) -m pytest

lint: setup ## Static checks for real mistakes (undefined/unused names, likely bugs)
	$(VENV)/bin/ruff check .

setup: $(VENV)/.installed $(PACK_VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt policies/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# `pulumi preview/up --policy-pack` runs the pack from this virtualenv but does not create it
# (only `pulumi install` in the pack directory would), so set-up does, from scratch each time
# the pack's requirements change.
$(PACK_VENV)/.installed: $(PACK)/requirements.txt
	$(PYTHON) -m venv --clear $(PACK_VENV)
	$(PACK_VENV)/bin/pip install --quiet --disable-pip-version-check -r $(PACK)/requirements.txt
	touch $@

# The deploy path needs the Pulumi CLI, which this Makefile does not install.
pulumi-cli:
	@command -v pulumi >/dev/null 2>&1 || { \
	  echo "The Pulumi CLI is not installed. Install it (https://www.pulumi.com/docs/install/), then run"; \
	  echo "'pulumi login --local' (or log in to your team's backend) and try again."; \
	  exit 127; }

preflight: setup ## Render STACK offline under mocks and run the policy pack on it (no AWS, no CLI)
	$(PY) -m preflight --stack $(STACK)

policy-table: setup ## Regenerate the policy reference table in docs/policies.md from the rules and configs
	PYTHONPATH=$(PACK) $(PY) -m preflight.policy_reference docs/policies.md

preview: setup pulumi-cli ## `pulumi preview` with the policy pack at the stack's environment's levels
	pulumi preview --stack $(STACK) --diff $(POLICY_FLAGS)

up: setup pulumi-cli ## Deploy the stack, gated by the policy pack at the stack's environment's levels
	pulumi up --stack $(STACK) $(POLICY_FLAGS)

destroy: pulumi-cli
	pulumi destroy --stack $(STACK)

clean:
	rm -rf $(VENV) $(PACK_VENV) .pytest_cache
