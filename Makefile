# Everything runs from the project's own virtualenv (.venv, the one Pulumi.yaml names).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev

.PHONY: test setup preview up destroy clean

test: setup ## Install pinned dependencies and run the tests offline, under Pulumi mocks
	$(PY) -m pytest

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

preview: setup pulumi-cli ## Show what `pulumi up` would change (STACK=dev|prod|...)
	pulumi preview --stack $(STACK) --diff --policy-pack policies \
	  --policy-pack-config policies/config/$$($(PY) -c "import yaml,sys; print(yaml.safe_load(open('Pulumi.$(STACK).yaml'))['config']['ecs-fargate:environment'])").json

up: setup pulumi-cli ## Deploy the stack
	pulumi up --stack $(STACK)

destroy: pulumi-cli
	pulumi destroy --stack $(STACK)

clean:
	rm -rf $(VENV) .pytest_cache
