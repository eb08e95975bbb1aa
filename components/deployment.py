"""How a service rolls a new version out: ECS's own strategies, no CodeDeploy.

`rolling` replaces tasks in batches (min 100 % / max 200 %) behind the circuit breaker. The three
traffic-shifting strategies start the new revision (green) next to the running one (blue) in a
second target group, then move the production listener rule's traffic over: all at once
(`blueGreen`), a canary share first (`canary`), or in equal steps (`linear`); blue keeps running
for `bake_time_minutes` after the last shift, so a rollback is a traffic shift back, not a new
deployment. ECS does the shifting by rewriting the listener rule's forward weights.

Ranges are ECS's (botocore's ECS model: `DeploymentConfiguration`, `CanaryConfiguration`,
`LinearConfiguration`, `DeploymentLifecycleHook`), and so are the canary and linear defaults; ECS
has no default bake time (BLUE_GREEN requires one), this project's is 10 minutes. Every value is
written out rather than left to AWS, so a rendered stack shows what ECS will do and the rollout
model (`components.rollout`) times exactly that.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass

import pulumi

from components.validation import Invalid, Problems, check_fields, check_type, constrained, items, known

STRATEGIES = ("rolling", "blueGreen", "linear", "canary")
ECS_STRATEGIES = {"rolling": "ROLLING", "blueGreen": "BLUE_GREEN", "linear": "LINEAR", "canary": "CANARY"}
"""Our name -> `deploymentConfiguration.strategy`."""
TRAFFIC_SHIFTING = ("blueGreen", "linear", "canary")

HOOK_STAGES = ("RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
               "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT")
"""`DeploymentLifecycleHook.lifecycleStages`, in the order a deployment passes them."""
PAUSE_REFUSED_STAGES = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")
"""Stages a PAUSE hook cannot use (traffic is moving then)."""
TIMEOUT_ACTIONS = ("ROLLBACK", "CONTINUE")

_LAMBDA_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}"
                         r"(?::(?:\$LATEST|[A-Za-z0-9_-]+))?$")


def lambda_arn_error(value: str) -> Invalid | None:
    if not _LAMBDA_ARN.match(value):
        return Invalid("is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])")
    return None


UNOFFERED_STAGES = ("PRE_PRODUCTION_TRAFFIC_SHIFT",)
"""Stages botocore's ECS model lists that pulumi-aws 7 does not document for `lifecycle_stages`."""


def stage_error(value: str) -> Invalid | None:
    if value in UNOFFERED_STAGES:
        return Invalid(f"is a stage ECS's API lists but pulumi-aws 7 does not document, so it is not offered here; "
                       f"valid: {', '.join(HOOK_STAGES)}")
    if value not in HOOK_STAGES:
        # The suggestion quotes a stage close to the value: a detail, left out for a secret.
        close = difflib.get_close_matches(value.upper().replace("-", "_").replace(" ", "_"), HOOK_STAGES, n=1)
        return Invalid(f"is not a lifecycle stage; valid: {', '.join(HOOK_STAGES)}",
                       f"did you mean '{close[0]}'?" if close else "")
    return None


@dataclass(frozen=True)
class LifecycleHookSpec:
    """A hook ECS runs at each of `stages` of a traffic-shifting deployment: a Lambda function
    (`function_arn`; ECS invokes it through a role the service gets, which may invoke exactly the
    hooks' functions) whose answer continues or rolls back the deployment, or a pause
    (`pause=True`) that waits for `aws ecs continue-service-deployment` until its timeout."""

    stages: tuple[str, ...] = constrained((), kind="strings", check=stage_error, min_items=1,
                                          known_because="it decides which stages the hook runs at")
    function_arn: pulumi.Input[str] | None = constrained(None, kind="string", check=lambda_arn_error,
                                                        deploy_time=True)
    """The Lambda function to invoke; None with `pause=True`."""
    pause: bool = constrained(False, kind="bool")
    """Pause the deployment at each stage instead of invoking a function."""
    timeout_minutes: int | None = constrained(None, kind="int", low=1, high=20160,
                                              known_because="it sizes the deployment's modeled duration")
    """A pause's timeout (ECS default 1440, 24 hours); pause hooks only."""
    timeout_action: str | None = constrained(None, kind="string", choices=TIMEOUT_ACTIONS)
    """What ECS does when a pause times out (ECS default ROLLBACK); pause hooks only."""


@dataclass(frozen=True)
class DeploymentSpec:
    """How new versions roll out; rolling unless a traffic-shifting strategy is chosen. Each knob
    applies to its own strategy only (a canary percent on a linear rollout is refused)."""

    strategy: str = constrained("rolling", kind="string", choices=STRATEGIES)
    bake_time_minutes: int = constrained(10, kind="int", low=0, high=1440,
                                         known_because="it sizes the deployment's modeled duration")
    """Traffic-shifting strategies: how long blue keeps running after all traffic is on green, the
    window in which a rollback alarm shifts it back in seconds."""
    canary_percent: float = constrained(5.0, kind="number", low=0.1, high=100.0, step=0.1,
                                        known_because="it sizes the deployment's modeled duration")
    """canary: the share of production traffic green gets first."""
    canary_bake_minutes: int = constrained(10, kind="int", low=0, high=1440,
                                           known_because="it sizes the deployment's modeled duration")
    """canary: how long the canary share runs before the rest of the traffic moves."""
    step_percent: float = constrained(10.0, kind="number", low=3.0, high=100.0, step=0.1,
                                      known_because="it sizes the deployment's modeled duration")
    """linear: the share of production traffic each step moves."""
    step_bake_minutes: int = constrained(6, kind="int", low=0, high=1440,
                                         known_because="it sizes the deployment's modeled duration")
    """linear: the wait after each step but the last."""
    hooks: tuple[LifecycleHookSpec, ...] = ()
    """Lifecycle hooks (traffic-shifting strategies only)."""
    test_traffic: bool = constrained(False, kind="bool")
    """A test listener rule on the load balancer's test listener (`LoadBalancerSpec.test_listener_port`)
    that sends this service's routes to green before production traffic moves, for a hook or a
    person to try it (traffic-shifting strategies only)."""

    @property
    def shifts_traffic(self) -> bool:
        return self.strategy in TRAFFIC_SHIFTING

    @property
    def ecs_strategy(self) -> str:
        return ECS_STRATEGIES.get(self.strategy, self.strategy)


KNOB_STRATEGY = {
    "bake_time_minutes": TRAFFIC_SHIFTING,
    "canary_percent": ("canary",),
    "canary_bake_minutes": ("canary",),
    "step_percent": ("linear",),
    "step_bake_minutes": ("linear",),
    "hooks": TRAFFIC_SHIFTING,
    "test_traffic": TRAFFIC_SHIFTING,
}
"""Which strategies each knob applies to."""


def check_deployment(p: Problems, spec: DeploymentSpec, path: str, *, given: set[str] | None = None,
                     fields: bool = True) -> None:
    """Everything ECS would refuse in a deployment setting, and knobs set for another strategy.

    `given`: the knobs set explicitly (a stack file's keys, snake_case); None: those that differ
    from their defaults (Args cannot tell a default from the same value written out)."""
    if not check_type(p, path, spec, DeploymentSpec):
        return
    if fields:
        check_fields(p, spec, path)

    defaults = DeploymentSpec()
    if given is None:
        given = {f.name for f in dataclasses.fields(spec) if getattr(spec, f.name) != getattr(defaults, f.name)}
    if spec.strategy in STRATEGIES:
        for knob, strategies in KNOB_STRATEGY.items():
            if knob in given and spec.strategy not in strategies:
                names = " or ".join(strategies)
                p.fail(p.at(path, knob), f"only applies with {p.key('strategy')} {names}, not {spec.strategy}")
    for index, hook in enumerate(items(spec.hooks)):
        where = f"{p.at(path, 'hooks')}[{index}]"
        if not check_type(p, where, hook, LifecycleHookSpec):
            continue
        if fields:
            check_fields(p, hook, where)
        check_hook(p, hook, where)


def check_hook(p: Problems, hook: LifecycleHookSpec, where: str) -> None:
    """A Lambda hook has a function and no pause settings; a pause hook no function and none of
    the stages ECS refuses for it; no stage twice."""
    if hook.pause is True:
        if hook.function_arn is not None:
            p.fail(p.at(where, "function_arn"), f"a pause hook invokes no function; set either "
                                                f"{p.key('function_arn')} or {p.assign('pause', True)}")
        for stage in dict.fromkeys(items(hook.stages)):
            if stage in PAUSE_REFUSED_STAGES:
                p.fail(p.at(where, "stages"), f"ECS refuses a pause hook at {stage} (traffic is moving then); "
                                              f"pause at POST_{stage} instead")
    else:
        if hook.function_arn is None:
            p.fail(where, f"set {p.key('function_arn')} (a Lambda hook) or {p.assign('pause', True)}")
        for knob in ("timeout_minutes", "timeout_action"):
            if getattr(hook, knob) is not None:
                p.fail(p.at(where, knob), "only applies to a pause hook")
    # Only valid stages: an invalid one is reported as it is read (and not quoted when secret).
    stages = [s for s in items(hook.stages) if known(s) and s in HOOK_STAGES]
    for stage in sorted({s for s in stages if stages.count(s) > 1}):
        p.fail(p.at(where, "stages"), f"{stage} is listed twice")
