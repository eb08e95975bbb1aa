"""Listener rules: the priority a web service's rule gets when none is set, and the checks that
need every web service on the listener (unique priorities, no rule hiding another).

FargateService gives a web service without a `priority` its `default_priority`, from its own
name and routing: the priority a stack file would give it when no other service claims it.
`check_services` assigns the priorities of a whole set of services as a stack file does (where
two derived ones collide, one steps on, with a warning), and refuses routing that leaves a rule,
or part of one, unreachable: call it with all the services of one listener.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import pulumi

from components.validation import Problems, raise_problems

if TYPE_CHECKING:
    from components.fargate_service import ServiceSpec

# Listener rules. An ALB evaluates a listener's rules from the lowest priority (1 to 50000) and
# sends a request to the first rule whose conditions all match: its host-header condition (any
# one of its values) and its path-pattern condition (any one of its values); a rule without a
# host condition matches every host, one without a path condition every path. In a pattern `*`
# matches any run of characters (none included) and `?` exactly one; paths are compared with
# case, host names without (ELB User Guide, "Condition types for listener rules").


def _literal_ends(pattern: str) -> tuple[str, str]:
    """The literal characters before the first wildcard and after the last one."""
    runs = re.split(r"[*?]", pattern)
    return runs[0], runs[-1] if len(runs) > 1 else ""


@functools.lru_cache(maxsize=65536)
def _glob_covers(broad: str, narrow: str) -> bool:
    """Whether every string the pattern `narrow` matches is matched by `broad` too.

    Sound, not complete: True only when `narrow` can be cut into runs that `broad`'s tokens
    match one by one (a `*` any run, including one holding `*`; a `?` one literal or `?`; a
    literal the same literal), which implies inclusion. Some equal languages written
    differently (`??*` and `?*?`) are not recognised, so a False is "not proven", never
    "proven not". Compare host names in lower case.
    """
    # broad's leading and trailing literals can only match literals of narrow, so they must
    # stand at narrow's ends too: most pairs of a large stack are told apart here.
    if not any(w in broad for w in "*?"):
        return broad == narrow
    broad_head, broad_tail = _literal_ends(broad)
    narrow_head, narrow_tail = _literal_ends(narrow) if any(w in narrow for w in "*?") else (narrow, narrow)
    if not (narrow_head.startswith(broad_head) and narrow_tail.endswith(broad_tail)):
        return False
    # reachable[i]: narrow[:i] is matched by the part of `broad` read so far.
    reachable = [True] + [False] * len(narrow)
    for token in broad:
        if token == "*":
            for i in range(1, len(narrow) + 1):
                reachable[i] = reachable[i] or reachable[i - 1]
        else:
            for i in range(len(narrow), 0, -1):
                piece = narrow[i - 1]
                fits = piece != "*" if token == "?" else piece == token
                reachable[i] = reachable[i - 1] and fits
            reachable[0] = False
    return reachable[-1]


def _pattern_shape(pattern: str) -> tuple[int, int]:
    """(literal characters, runs of wildcards holding a `*`): `/a*?b*` is (3, 2)."""
    literals = len(re.sub(r"[*?]", "", pattern))
    star_runs = len([run for run in re.findall(r"[*?]+", pattern) if "*" in run])
    return literals, star_runs


_LITERAL_CAP = 48
"""Patterns with this many literal characters or more share a specificity level."""


def _breadth(pattern: str) -> int:
    """0 for the narrowest patterns, more for broader ones: fewer literal characters, then at
    the same count more runs of `*` (`/` before `/*`, `/a*b` before `/a*b*`).

    If `narrow` is included in `broad` (`_glob_covers`), it has at least as many literal
    characters and, with as many, no more runs of `*`; so a strictly narrower pattern under
    the cap never has a larger breadth, and one with fewer literals always a smaller one.
    """
    literals, star_runs = _pattern_shape(pattern)
    return 3 * (_LITERAL_CAP - min(literals, _LITERAL_CAP)) + min(star_runs, 2)


def _is_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


_ANY_PATH = "/*"
"""A rule without a path condition is ranked and compared as this pattern."""
_PATH_BREADTHS = _breadth("/") + 3
"""Breadths a path pattern can have (every path pattern has its leading / as a literal)."""
_HOST_BREADTHS = _breadth("*") + 2
_NO_HOST = 1 + _HOST_BREADTHS
"""The host part of the level of a rule without a host condition: after every host rule."""
_PRIORITY_LEVELS = _NO_HOST + _PATH_BREADTHS
_PRIORITY_SLOTS = 167
"""Slots per level: a prime, so the name hashes below separate names one character apart and
names numbered with two digits, and the probe sequence visits every slot."""
_PRIORITY_BASE = 1000
_SLOT_MULTIPLIER = 31
_STEP_MULTIPLIER = 37


def _priority_level(service: ServiceSpec) -> int:
    """The specificity level of the service's rule, 0 (evaluated first) to _PRIORITY_LEVELS - 1.

    The sum of a host part and a path part, each of which grows with the breadth of the
    service's broadest pattern of that kind. Literal host names have host part 0 and a rule
    without a host condition host part _NO_HOST, which is more than any path part: so rules
    with literal hosts come before wildcard-host rules of the same paths, and every rule
    with a host condition before the path-only ones. A sum grows when either part grows, so a
    rule included in another (host within host, path within path) never gets a later level.
    """
    wildcards = [host.lower() for host in service.host_headers if _is_wildcard(host)]
    if not service.host_headers:
        host_part = _NO_HOST
    elif wildcards:
        host_part = 1 + max(_breadth(host) for host in wildcards)
    else:
        host_part = 0
    path_part = max((_breadth(p) for p in service.path_patterns), default=_breadth(_ANY_PATH))
    return host_part + path_part


def _horner(name: str, multiplier: int, modulus: int) -> int:
    value = 0
    for char in name:
        value = (value * multiplier + ord(char)) % modulus
    return value


def _name_slot(name: str) -> int:
    """A position-weighted sum of the name's characters modulo _PRIORITY_SLOTS."""
    return _horner(name, _SLOT_MULTIPLIER, _PRIORITY_SLOTS)


def _name_step(name: str) -> int:
    """How far a service whose slot is taken moves at each try: from its own name, 1 to
    _PRIORITY_SLOTS - 1 (so, the slot count being prime, every slot is tried once)."""
    return 1 + _horner(name, _STEP_MULTIPLIER, _PRIORITY_SLOTS - 1)


def default_priority(service: ServiceSpec) -> int:
    """The listener rule priority a service gets when it sets none and nothing else claims it.

    The priority is 1000 + level * 167 + slot (1000 to 49763): the level orders the rules by
    specificity (`_priority_level`): literal host names, then wildcard hosts ranked by their
    own specificity, then path-only rules; paths by their literal characters, more first
    (`/api/v2/*` before `/api/*` before `/*`), and at the same count exact patterns and
    fewer `*` first (`/` before `/*`). A service is ranked by its broadest host and path.
    Priorities below 1000 and above 49763 are never derived, so explicit ones there stay
    out of the way.

    The heuristic cannot order every configuration (a service with one narrow and one broad
    pattern may need to come both before and after another): `_check_shadowing` refuses
    any final order, derived or explicit, in which a rule hides part of a later one.

    The priority depends only on the service's own name and routing, so adding or removing
    another service does not move it: ALB refuses two rules with one priority, and Pulumi
    creates and updates before it deletes, so a rule moving to a freed priority would fail
    with PriorityInUse. A routing change that changes the level changes the priority in place.

    The slot within the level comes from the name: names one character apart (web-a, web-b)
    or numbered with two digits (api10 .. api99) never share one; other pairs of names
    behave like a random hash, colliding with probability about 1/167 (see
    `_assign_priorities` for what happens then). Renaming a service is a new rule created
    while the old one still holds its priority (Pulumi deletes a removed resource after it
    has created the new ones), so a new name whose slot equals the old name's (about one
    rename in 167 at the same level) makes `pulumi up` fail with PriorityInUse before
    anything is deleted, and again on every retry. No slot function of the name alone can
    rule that out, the old name being unknown here; docs/configuration.md (`priority`) says
    how to get past it.
    """
    return _PRIORITY_BASE + _priority_level(service) * _PRIORITY_SLOTS + _name_slot(service.name)


def _assign_priorities(c: Problems, services: list[ServiceSpec]) -> dict[str, int]:
    """Explicit priorities first (unique or an error), then each service's default priority.

    Where two defaults (or a default and an explicit one) collide, the first name in sort
    order keeps it and each other one tries further slots of its level in steps of its own
    `_name_step`, skipping any priority another service claims, so where it lands depends on
    its own name rather than on which neighbouring slots exist. It still depends on the
    other services: if the one holding its slot goes away, it moves back, and a newcomer
    whose default is its probed priority takes it over. The warning says so and which
    explicit priority pins it.
    """
    taken: dict[int, str] = {}
    for service in services:
        if service.priority:
            if service.priority in taken:
                at = f"services.{service.name}.priority"
                c.fail(at, f"{c.show(at, service.priority)} is already used by services.{taken[service.priority]}; "
                           "listener rule priorities must be unique")
            taken.setdefault(service.priority, service.name)
    result = {name: priority for priority, name in taken.items()}
    derived = sorted((default_priority(s), s.name) for s in services if not s.priority)
    claimed = {priority for priority, _ in derived} | set(taken)
    probed = []
    for priority, name in derived:
        if priority in taken:
            probed.append((priority, name))
        else:
            taken[priority] = name
            result[name] = priority
    for wanted, name in probed:
        level = wanted - (wanted - _PRIORITY_BASE) % _PRIORITY_SLOTS
        slot, step = wanted - level, _name_step(name)
        candidates = (level + (slot + k * step) % _PRIORITY_SLOTS for k in range(1, _PRIORITY_SLOTS))
        # Every service holding a slot this probe steps over moves the rule when it goes.
        stepped_over = [taken[wanted]]
        free = None
        for candidate in candidates:
            if candidate not in claimed and candidate not in taken:
                free = candidate
                break
            holder = taken.get(candidate) or next((n for p, n in derived if p == candidate), None)
            if holder and holder not in stepped_over:
                stepped_over.append(holder)
        at = f"services.{name}.priority"
        if free is None:
            c.fail(at, "no free listener rule priority at this service's specificity; set priority explicitly")
            continue
        taken[free] = name
        result[name] = free
        movers = ", ".join(f"services.{n}" for n in stepped_over)
        c.warn(f"{at}: {c.show(at, wanted)} is also the priority of services.{taken[wanted]}, so this rule uses "
               f"{c.show(at, free)}, which changes if {movers} {'is' if len(stepped_over) == 1 else 'are'} "
               f"removed or renamed or a service whose own priority is {c.show(at, free)} is added; "
               f"set priority: {c.show(at, free)} to pin it")
    return result


def _normalised(patterns: Collection[str], fold: bool) -> frozenset[str]:
    """The patterns that matter: in lower case for hosts, wildcard runs in one spelling
    (`*?*` as `?*`), and none another one of them already covers."""
    spelled = {re.sub(r"[*?]+", lambda run: "?" * run[0].count("?") + ("*" if "*" in run[0] else ""),
                      p.lower() if fold else p) for p in patterns}
    return frozenset(p for p in spelled if not any(q != p and _glob_covers(q, p) for q in spelled))


def _route_key(service: ServiceSpec) -> tuple[frozenset | None, frozenset | None]:
    """What a rule matches, None for "any": path patterns covering `/*` match as much as no
    path condition does."""
    paths = _normalised(service.path_patterns, fold=False)
    hosts = _normalised(service.host_headers, fold=True)
    any_host = not hosts or any(re.fullmatch(r"\*+", h) for h in hosts)
    return (None if not paths or any(_glob_covers(p, _ANY_PATH) for p in paths) else paths), \
        (None if any_host else hosts)


def assign_routes(c: Problems, services: Mapping[str, ServiceSpec]) -> dict[str, ServiceSpec]:
    """Fill in the web services' priorities (`services` by name); reject routing that leaves a rule,
    or part of one, unreachable."""
    web = [s for s in services.values() if not s.is_worker]
    routes = {s.name: _route_key(s) for s in web}
    by_route: dict[tuple, str] = {}
    for service in web:
        route = routes[service.name]
        if route in by_route:
            c.fail(f"services.{service.name}", f"routes the same requests as services.{by_route[route]} "
                                               f"({c.key('path_patterns')}/{c.key('host_headers')}), so one would never be reached")
        by_route.setdefault(route, service.name)
    assigned = _assign_priorities(c, web)
    _check_shadowing(c, [replace(s, priority=assigned[s.name]) for s in web if s.name in assigned], routes)
    return {name: replace(s, priority=assigned[name]) if name in assigned else s for name, s in services.items()}


def _covered(by: ServiceSpec, host: str | None, path: str | None) -> tuple[str | None, str | None] | None:
    """The (host, path) values of `by` that match every request of the combination `host`
    and `path` (None: no such condition), or None if `by` is not proven to match them all."""
    if by.host_headers:
        # A host pattern of stars alone matches every request, as no host condition does.
        cover_host = next((h for h in by.host_headers if re.fullmatch(r"\*+", h)), None) if host is None else \
            next((h for h in by.host_headers if _glob_covers(h.lower(), host.lower())), None)
        if cover_host is None:
            return None
    else:
        cover_host = None
    if by.path_patterns:
        cover_path = next((p for p in by.path_patterns if _glob_covers(p, path or _ANY_PATH)), None)
        if cover_path is None:
            return None
    else:
        cover_path = None
    return cover_host, cover_path


def _check_shadowing(c: Problems, web: list[ServiceSpec], routes: Mapping[str, tuple]) -> None:
    """A part of a rule that an earlier rule matches in full never receives a request: an
    error naming both services, whatever set the priorities (pairs with identical routing or
    one priority are reported already)."""
    ordered = sorted(web, key=lambda s: s.priority)
    for index, later in enumerate(ordered):
        at = f"services.{later.name}"
        combinations = [(h, p) for h in (later.host_headers or (None,)) for p in (later.path_patterns or (None,))]
        for earlier in ordered[:index]:
            if earlier.priority == later.priority or routes[earlier.name] == routes[later.name]:
                continue
            hidden = [(h, p, cover) for h, p in combinations if (cover := _covered(earlier, h, p))]
            if not hidden:
                continue
            covers = " and ".join(sorted({_condition_text(c, at, *cover) for _, _, cover in hidden}))
            first = (f"services.{earlier.name} (priority {c.show(at, earlier.priority)}) is evaluated first "
                     f"(this rule has {c.show(at, later.priority)}) and its {covers}")
            if len(hidden) == len(combinations):
                what = f"is never reached: {first} match every request this service routes"
            else:
                parts = " and ".join(_condition_text(c, at, h, p) for h, p, _ in hidden)
                what = f"its {parts} {'are' if len(hidden) > 1 else 'is'} never reached: {first} match every such request"
            c.fail(at, f"{what}; set priority explicitly (services.{later.name}.priority below "
                       f"services.{earlier.name}'s) or split the patterns into services of their own, so that no "
                       "earlier rule covers a later one")


def _condition_text(c: Problems, at: str, host: str | None, path: str | None) -> str:
    parts = ([f"{c.key('host_headers')} {c.show(at, host)}"] if host is not None else []) + \
        ([f"{c.key('path_patterns')} {c.show(at, path)}"] if path is not None else [])
    return " with ".join(parts)


class ListenerPriorities:
    """The listener rule priorities claimed on one listener, by the FargateServices attached to it
    (`LoadBalancer.attachment` carries its listener's): a second service with a priority already
    claimed is refused before it registers anything, instead of failing the deployment with
    PriorityInUse. It sees only the services created so far in this program and compares
    priorities, not routing: `check_services` does the rest across a listener's services."""

    def __init__(self) -> None:
        self.claimed: dict[int, str] = {}
        """Priority -> the FargateService (resource name) whose rule has it."""

    def check(self, p: Problems, where: str, service: ServiceSpec) -> int | None:
        """The priority `service`'s rule gets, if it is free on the listener (None: not known yet, an
        Output, or taken, which `p` reports naming the service that has it)."""
        explicit = service.priority is not None
        priority = service.priority if explicit else default_priority(service)
        if isinstance(priority, bool) or not isinstance(priority, int):
            return None
        holder = self.claimed.get(priority)
        if holder is None:
            return priority
        if explicit:
            p.fail(where, f"{p.show(where, priority)} is already the priority of FargateService {holder} on this "
                          "listener; listener rule priorities must be unique")
        else:
            p.fail(where, f"not set, and the priority derived from this service's name and routing "
                          f"({p.show(where, priority)}) is already the priority of FargateService {holder} on this "
                          "listener; set it explicitly, or pass the listener's services through "
                          "components.check_services, which gives each a free one")
        return None

    def claim(self, priority: int | None, owner: str) -> None:
        if priority is not None:
            self.claimed[priority] = owner


def check_services(services: Sequence[ServiceSpec]) -> tuple[ServiceSpec, ...]:
    """The services of one listener with their listener rule priorities filled in, as a stack file
    gets them: explicit ones kept (unique, or an error), the others derived (`default_priority`,
    stepping on where two collide, with a warning logged). Raises ArgsError if two services route
    the same requests or a rule hides all or part of a later one."""
    from components.fargate_service import check_service

    problems = Problems()
    by_name: dict[str, ServiceSpec] = {}
    for service in services:
        if service.name in by_name:
            problems.fail(f"services.{service.name}", "two services have this name; names must be unique")
        by_name.setdefault(service.name, service)
        check_service(problems, service, f"services.{service.name}")
    # Routing is compared only between services that are well-formed on their own.
    raise_problems("check_services", problems)
    # Each service's own warnings are the FargateService's to log when it is built.
    own = len(problems.warnings)
    routed = assign_routes(problems, by_name)
    raise_problems("check_services", problems)
    for warning in problems.warnings[own:]:
        pulumi.log.warn(warning)
    return tuple(routed[s.name] for s in services)
