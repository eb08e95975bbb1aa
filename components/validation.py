"""How a component checks its Args: every problem at once, before anything is registered.

A component's Args declare each constrained field with `constrained(...)`: its default and what
AWS takes (a range, the only values, a pattern, a check). `check_fields` reports every field
outside them; the component adds its checks across fields and raises `ArgsError` listing all of
them. A field declared `deploy_time=True` (one the component hands to a resource as a
`pulumi.Input`) may be a `pulumi.Output`: it is skipped, as CDK's constructs skip unresolved tokens,
and the provider or AWS judges it then. Every other field must be known when the program runs (the
component sizes, names or renders something from it), and an Output there is refused, saying why.

The stack's config layer (settings.py) reads its keys with the same constraints and calls the
same checks across fields, through a `Problems` that names paths as the stack file does
(`services.web.memory`), so a stack file and a user's own program get the same messages.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import pulumi

# -- What AWS takes ------------------------------------------------------------------------------

NAT_STRATEGIES = ("none", "single", "perAz")
CONTAINER_INSIGHTS = ("disabled", "enabled", "enhanced")
ARCHITECTURES = ("X86_64", "ARM64")
CAPACITY_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)
# Predefined ELB security policies that allow only TLS 1.2 and 1.3.
TLS_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
)


def _memory_steps(low: int, high: int, step: int) -> tuple[int, ...]:
    return tuple(range(low, high + 1, step))


# Valid Fargate task sizes: cpu units -> memory (MiB), from the ECS developer guide.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: _memory_steps(1024, 4096, 1024),
    1024: _memory_steps(2048, 8192, 1024),
    2048: _memory_steps(4096, 16384, 1024),
    4096: _memory_steps(8192, 30720, 1024),
    8192: _memory_steps(16384, 61440, 4096),
    16384: _memory_steps(32768, 122880, 8192),
}

TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# Docker image reference grammar (distribution/reference), simplified but strict enough to
# reject what ECS would fail to pull: [registry[:port]/]path[:tag][@sha256:digest].
IMAGE = re.compile(
    r"^(?:(?P<registry>[a-zA-Z0-9.-]+(?::[0-9]+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_ARN = re.compile(
    r"^arn:aws[a-z-]*:(?:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+(?::[^:]*:[^:]*:[^:]*)?"
    r"|ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+)$"
)
CERTIFICATE_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):acm:(?P<region>[a-z0-9-]+):[0-9]{12}:certificate/"
                             r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# The characters ALB path patterns allow (plus the * and ? wildcards).
_PATH_PATTERN = re.compile(r"^/[A-Za-z0-9_\-.$/~\"'@:+?*&]*$")
_HOST = re.compile(r"^[A-Za-z0-9*?.-]+$")
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class Invalid:
    """Why a value is refused, said about it without quoting it ("is not a CIDR block"), so the
    message stays safe for a secret; `detail` may quote parts of it and is left out for one."""

    reason: str
    detail: str = ""


def is_digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes ³ (which int() refuses) and ٣ (which it
    reads as 3, a value AWS would refuse)."""
    return re.fullmatch(r"[0-9]+", text) is not None


def cidr_error(value: str, example_prefix: int = 32) -> Invalid | None:
    """An IPv4 CIDR block as AWS takes it: address/prefix with no host bits set. The AWS provider
    refuses 10.0.1.0/16 ("not a valid CIDR block; did you mean 10.0.0.0/16?"), and a bare address
    is not a block at all, however Python's ipaddress reads it."""
    address, slash, prefix = value.partition("/")
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        return Invalid("is not an IPv4 CIDR block like 10.0.0.0/16")
    if not slash:
        one = " for that one address" if example_prefix == 32 else ""
        return Invalid("has no prefix length", f"write {'' if one else 'e.g. '}'{address}/{example_prefix}'{one}")
    if not (is_digits(prefix) and int(prefix) <= 32 and str(int(prefix)) == prefix):
        return Invalid("is not an IPv4 CIDR block like 10.0.0.0/16 (the prefix length is 0 to 32)")
    network = ipaddress.IPv4Network(value, strict=False)
    if str(network) != value:
        return Invalid("has host bits set, which AWS refuses", f"did you mean '{network}'?")
    return None


def vpc_cidr_error(value: str) -> Invalid | None:
    """A VPC's block: a CIDR block AWS takes for a VPC, /16 to /28."""
    if invalid := cidr_error(value, 16):
        return invalid
    if not 16 <= ipaddress.IPv4Network(value).prefixlen <= 28:
        return Invalid("is not a VPC's size: AWS takes VPC CIDR blocks from /16 to /28")
    return None


def certificate_arn_error(value: str) -> Invalid | None:
    """An ACM certificate ARN (whether it is in the stack's region is the config layer's to say:
    a component knows its region only at deploy time)."""
    if not CERTIFICATE_ARN.match(value):
        return Invalid("is not an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/UUID)")
    return None


def env_name_error(name: str) -> str | None:
    if not _ENV_NAME.match(name):
        return "not a valid environment variable name (letters, digits and _, not starting with a digit)"
    return None


def secret_arn_error(value: str) -> Invalid | None:
    if not _SECRET_ARN.match(value):
        return Invalid("is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME, "
                       "optionally with :json-key:version-stage:version-id) or an SSM parameter ARN "
                       "(arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)")
    return None


def path_pattern_error(value: str) -> Invalid | None:
    if len(value) > 128 or not _PATH_PATTERN.match(value):
        return Invalid("is not an ALB path pattern (starts with /, at most 128 characters, * and ? wildcards)")
    return None


def host_error(value: str) -> Invalid | None:
    if len(value) > 128 or not _HOST.match(value):
        return Invalid("is not an ALB host header pattern (letters, digits, -, ., * and ?)")
    return None


def writable_path_error(value: str) -> Invalid | None:
    if not value.startswith("/") or value == "/":
        return Invalid("is not an absolute path below / inside the container")
    return None


def subnet_error(value: str) -> Invalid | None:
    return None if re.match(r"^subnet-[0-9a-f]{8,17}$", value) else Invalid("is not a subnet id like subnet-0123abcd")


# S3 general purpose bucket naming rules (S3 User Guide, "Bucket naming rules").
_S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_error(value: str) -> Invalid | None:
    if not _S3_BUCKET.match(value):
        return Invalid("is not an S3 bucket name: 3 to 63 lowercase letters, digits, . and -, starting and "
                       "ending with a letter or digit")
    if ".." in value:
        return Invalid("is not an S3 bucket name: it has two adjacent periods")
    if re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", value):
        return Invalid("is not an S3 bucket name: S3 refuses names formatted as an IP address")
    for prefix in _S3_RESERVED_PREFIXES:
        if value.startswith(prefix):
            return Invalid(f"is not an S3 bucket name: it starts with {prefix}, which S3 reserves")
    for suffix in _S3_RESERVED_SUFFIXES:
        if value.endswith(suffix):
            return Invalid(f"is not an S3 bucket name: it ends with {suffix}, which S3 reserves")
    return None


def log_prefix_error(value: str) -> Invalid | None:
    """ELB writes to BUCKET/PREFIX/AWSLogs/ACCOUNT/...: the prefix may not hold AWSLogs itself,
    nor start or end with / (ELB then leaves access logs off)."""
    if "AWSLogs" in value:
        return Invalid("contains AWSLogs, which ELB adds itself and refuses in a prefix")
    if value.startswith("/") or value.endswith("/"):
        return Invalid("starts or ends with /, which ELB refuses (write alb/prod, not /alb/prod/)")
    return None


# -- Reporting -----------------------------------------------------------------------------------


def describe(value: Any) -> str:
    """A value quoted in a message: strings whole (an ARN is only useful complete), others short."""
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    limit = 300 if isinstance(value, str) else 60
    return text if len(text) <= limit else text[:limit - 3] + "..."


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def is_unknown(value: Any) -> bool:
    """A value only known at deploy time: not checked here."""
    return isinstance(value, (pulumi.Output, Awaitable))


class Problems:
    """Every problem found, each under the path of the value (`task.memory`).

    `camel`: name fields as a stack file does (`logRetentionDays`) rather than as Python does."""

    def __init__(self, camel: bool = False) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []
        """Deployable, but worth a look (a listener rule priority that depends on another service)."""
        self.camel = camel

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def key(self, name: str) -> str:
        """A field as this report names it."""
        return camel(name) if self.camel else name

    def at(self, path: str, name: str) -> str:
        return join(path, self.key(name))

    def literal(self, value: Any) -> str:
        """A value as this report would have it written: Python (`False`, `["CMD", "python"]`) for
        Args, YAML (`false`, `[CMD, python]`) for a stack file."""
        if not self.camel:
            if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                return json.dumps(list(value))
            return repr(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(map(str, value)) + "]"
        return str(value)

    def assign(self, name: str, value: Any) -> str:
        """Setting a field, as this report's reader writes it: `name=False` or `name: false`."""
        return f"{self.key(name)}: {self.literal(value)}" if self.camel else f"{name}={self.literal(value)}"

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def show(self, path: str, value: Any) -> str:
        return describe(value)

    def reject(self, path: str, value: Any, invalid: Invalid) -> None:
        detail = f" ({invalid.detail})" if invalid.detail else ""
        self.fail(path, f"{self.show(path, value)} {invalid.reason}{detail}")


class ArgsError(pulumi.RunError):
    """A component's Args that AWS would refuse. Pulumi prints a RunError without a traceback."""

    def __init__(self, component: str, problems: list[str]):
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Invalid arguments for {component} ({count}); nothing was registered:\n{lines}")


def unknown_keys(p: Problems, value: Mapping, path: str, allowed: tuple[str, ...]) -> None:
    """Every key of `value` not in `allowed`, with the closest valid one."""
    for key in value:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            suggestion = f"did you mean '{hint[0]}'? " if hint else ""
            p.fail(join(path, str(key)), f"unknown key; {suggestion}valid keys: {', '.join(allowed)}")


def raise_problems(component: str, problems: Problems) -> None:
    if problems.problems:
        raise ArgsError(component, problems.problems)


# -- Checks of one value, with the messages the config layer gives ---------------------------------


def check_int(p: Problems, where: str, value: Any, low: int, high: int,
              allowed: tuple[int, ...] | None = None) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        p.fail(where, f"expected a whole number from {low} to {high}, got {p.show(where, value)}")
        return False
    if allowed is not None and value not in allowed:
        p.fail(where, f"{p.show(where, value)} is not allowed; valid: {', '.join(map(str, allowed))}")
        return False
    if not low <= value <= high:
        p.fail(where, f"{p.show(where, value)} is out of range; valid: {low} to {high}")
        return False
    return True


def check_number(p: Problems, where: str, value: Any, low: float, high: float, step: float | None = None) -> bool:
    """A number from `low` to `high`; with `step`, a multiple of it (ECS: "multiples of 0.1")."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        p.fail(where, f"expected a number from {low:g} to {high:g}, got {p.show(where, value)}")
        return False
    if not low <= value <= high:
        p.fail(where, f"{p.show(where, value)} is out of range; valid: {low:g} to {high:g}")
        return False
    if step is not None and abs(value / step - round(value / step)) > 1e-6:
        p.fail(where, f"{p.show(where, value)} is not a multiple of {step:g}")
        return False
    return True


def check_bool(p: Problems, where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        p.fail(where, f"expected {p.literal(True)} or {p.literal(False)}, got {p.show(where, value)}")
        return False
    return True


def check_string(p: Problems, where: str, value: Any, *, expected: str = "",
                 choices: tuple[str, ...] | None = None, pattern: re.Pattern | None = None,
                 check: Callable[[str], Invalid | None] | None = None) -> bool:
    if not isinstance(value, str) or not value:
        p.fail(where, f"expected {expected or 'a non-empty string'}, got {p.show(where, value)}")
        return False
    if choices is not None and value not in choices:
        p.fail(where, f"{p.show(where, value)} is not one of: {', '.join(choices)}")
        return False
    if pattern is not None and not pattern.match(value):
        p.fail(where, f"{p.show(where, value)} is not {expected}")
        return False
    if check is not None and (invalid := check(value)):
        p.reject(where, value, invalid)
        return False
    return True


KNOWN_AT_RUN = "must be known when the program runs: "
"""How an Output in a field that needs its value now is refused (the reason follows)."""
DEFAULT_KNOWN_BECAUSE = "the component builds its resources from it"


def refuse_unknown(p: Problems, where: str, because: str = "") -> None:
    p.fail(where, f"{KNOWN_AT_RUN}{because or DEFAULT_KNOWN_BECAUSE} (a pulumi.Output is only known at deploy time)")


def check_strings(p: Problems, where: str, value: Any, *,
                  check: Callable[[str], Invalid | None] | None = None, min_items: int = 0,
                  unknown_items: bool = False, known_because: str = "") -> bool:
    """`unknown_items`: an item may be a pulumi.Output (left to AWS); otherwise one is refused."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(
        is_unknown(v) or (isinstance(v, str) and v) for v in value
    ):
        p.fail(where, f"expected a list of non-empty strings, got {p.show(where, value)}")
        return False
    if len(value) < min_items:
        p.fail(where, f"expected at least {min_items} item(s), got {len(value)}")
    for index, item in enumerate(value):
        if is_unknown(item):
            if not unknown_items:
                refuse_unknown(p, f"{where}[{index}]", known_because)
            continue
        if check and (invalid := check(item)):
            p.reject(f"{where}[{index}]", item, invalid)
    return True


def check_string_map(p: Problems, where: str, value: Any, *,
                     check_key: Callable[[str], str | None] | None = None,
                     check: Callable[[str], Invalid | None] | None = None,
                     unknown_items: bool = False, known_because: str = "") -> bool:
    """`unknown_items`: a value may be a pulumi.Output (left to AWS); otherwise one is refused."""
    if not isinstance(value, Mapping):
        p.fail(where, f"expected a mapping of names to strings, got {p.show(where, value)}")
        return False
    for name, item in value.items():
        if not isinstance(name, str):
            p.fail(f"{where}.{name}", f"expected a string name, got {p.show(where, name)}")
            continue
        if check_key and (error := check_key(str(name))):
            p.fail(f"{where}.{name}", error)
            continue
        if is_unknown(item):
            if not unknown_items:
                refuse_unknown(p, f"{where}.{name}", known_because)
            continue
        if not isinstance(item, str):
            p.fail(f"{where}.{name}", f"expected a string, got {p.show(where, item)}")
            continue
        if check and (invalid := check(item)):
            p.reject(f"{where}.{name}", item, invalid)
    return True


# -- Constrained fields ----------------------------------------------------------------------------

CONSTRAINT = "ecs-fargate:constraint"


@dataclass(frozen=True)
class Constraint:
    """What AWS takes for one field of an Args class; the config layer's key declarations use the same."""

    kind: Literal["bool", "int", "number", "string", "strings", "map"]
    low: int | float | None = None
    high: int | float | None = None
    step: float | None = None
    """A number's granularity (kind "number" only)."""
    allowed: tuple[int, ...] | None = None
    choices: tuple[str, ...] | None = None
    pattern: str | None = None
    expected: str = ""
    check: Callable[[str], Invalid | None] | None = None
    check_key: Callable[[str], str | None] | None = None
    min_items: int = 0
    deploy_time: bool = False
    """The value may be a `pulumi.Output`: the component hands it to a resource as an Input."""
    deploy_time_items: bool = False
    """Items of a list or values of a map may be `pulumi.Output`s (a secret's ARN)."""
    known_because: str = ""
    """Why the value must be known when the program runs (what the component does with it)."""

    NOT_KEYS: ClassVar[tuple[str, ...]] = ("kind", "deploy_time", "deploy_time_items", "known_because")
    """Fields a config key does not declare: its kind is its own, and a stack file's values are all known."""

    def as_key(self) -> dict[str, Any]:
        """The constraint as keyword arguments of a config key declaration (a stack file's
        values are always known)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in self.NOT_KEYS and getattr(self, f.name) != f.default}

    def report(self, p: Problems, where: str, value: Any) -> None:
        if value is None:
            return
        if is_unknown(value):
            if not self.deploy_time:
                refuse_unknown(p, where, self.known_because)
            return
        if self.kind == "int":
            check_int(p, where, value, self.low, self.high, self.allowed)
        elif self.kind == "number":
            check_number(p, where, value, self.low, self.high, self.step)
        elif self.kind == "bool":
            check_bool(p, where, value)
        elif self.kind == "string":
            check_string(p, where, value, expected=self.expected, choices=self.choices,
                         pattern=re.compile(self.pattern) if self.pattern else None, check=self.check)
        elif self.kind == "strings":
            check_strings(p, where, value, check=self.check, min_items=self.min_items,
                          unknown_items=self.deploy_time_items, known_because=self.known_because)
        else:
            check_string_map(p, where, value, check_key=self.check_key, check=self.check,
                             unknown_items=self.deploy_time_items, known_because=self.known_because)


def constrained(default: Any = dataclasses.MISSING, *, kind: str, default_factory: Any = dataclasses.MISSING,
                **constraint: Any) -> Any:
    """A dataclass field with its default and what AWS takes for it."""
    metadata = {CONSTRAINT: Constraint(kind=kind, **constraint)}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def constraint_of(cls: type, name: str) -> Constraint:
    return next(f.metadata[CONSTRAINT] for f in dataclasses.fields(cls) if f.name == name)


def default_of(cls: type, name: str) -> Any:
    """A field's default (its factory's value for a mutable one)."""
    found = next(f for f in dataclasses.fields(cls) if f.name == name)
    if found.default_factory is not dataclasses.MISSING:
        return found.default_factory()
    return None if found.default is dataclasses.MISSING else found.default


def check_fields(p: Problems, args: Any, path: str = "") -> None:
    """Every constrained field of `args` outside what AWS takes; None only where it is the default."""
    for f in dataclasses.fields(args):
        constraint = f.metadata.get(CONSTRAINT)
        if constraint is None:
            continue
        value = getattr(args, f.name)
        if value is None and (f.default is not None or f.default_factory is not dataclasses.MISSING):
            default = default_of(type(args), f.name)
            p.fail(p.at(path, f.name), "expected a value, got None" + (
                "" if default is None else f" (leave it out for the default, {p.literal(default)})"))
            continue
        constraint.report(p, p.at(path, f.name), value)


def check_type(p: Problems, where: str, value: Any, cls: type, *, optional: bool = False) -> bool:
    """`value` is a `cls` (or None when `optional`): a plain string where an ImageSource belongs
    would otherwise fail later with an AttributeError."""
    if (value is None and optional) or isinstance(value, cls):
        return True
    article = "an" if cls.__name__[0] in "AEIOU" else "a"
    p.fail(where, f"expected {'None or ' if optional else ''}{article} {cls.__name__}, got {p.show(where, value)}")
    return False


def known(*values: Any) -> bool:
    """None of the values is only known at deploy time."""
    return not any(is_unknown(v) for v in values)


def items(values: Sequence[Any] | None) -> list[Any]:
    return [] if values is None or is_unknown(values) else list(values)


# -- Names: a service's or job's, and the AWS names the components derive from it ------------------

# Our own shape for service and job names: lowercase by convention, not by an AWS rule (the AWS
# names derived from one are checked against AWS's own rules, see `derived_names`, which also
# set how long it may be); it keeps two services from differing only in case.
NAME = re.compile(r"^[a-z](?:[a-z0-9-]*[a-z0-9])?$")


def name_error(name: str) -> str | None:
    """Why `name` cannot name a service or a job (the component's resource name)."""
    if not NAME.match(name):
        return ("names are lowercase letters, digits and -, starting with a letter and ending with a letter "
                "or digit (lowercase is this project's convention, not an AWS rule: it keeps two services from "
                "differing only in case)")
    return None


@dataclass(frozen=True)
class NameRule:
    """How AWS constrains one kind of name (from the API reference of the action that takes it)."""

    service: str
    noun: str
    """Plural, as in "EC2 refuses <security group names> starting with sg-"."""
    max_length: int
    allowed: re.Pattern
    allowed_text: str
    min_length: int = 1
    refused_prefixes: tuple[str, ...] = ()

    def problem(self, what: str, name: str, base_length: int | None = None) -> str | None:
        """Why AWS would refuse `name` for the `what`; `base_length`: of the part the user chose."""
        named = f"the {what} would be named '{name}'"
        for prefix in self.refused_prefixes:
            if name.startswith(prefix):
                return f"{named}; {self.service} refuses {self.noun} starting with {prefix}"
        if not self.min_length <= len(name) <= self.max_length:
            limit = (f"are {self.min_length} to {self.max_length} characters" if self.min_length > 1
                     else f"are at most {self.max_length} characters")
            budget = "" if base_length is None else \
                f", so this name can have at most {self.max_length - (len(name) - base_length)}"
            return f"{named} ({len(name)} characters); {self.service} {self.noun} {limit}{budget}"
        if not self.allowed.match(name):
            return f"{named}; {self.service} {self.noun} allow only {self.allowed_text}"
        return None


# Pulumi autonames a resource NAME-xxxxxxx (7 random hex characters) unless it sets a name.
AUTONAME = "-xxxxxxx"
_IAM_NAME = re.compile(r"^[\w+=,.@-]+$", re.ASCII)
# EC2 CreateSecurityGroup GroupName and GroupDescription, and security group rule descriptions.
EC2_TEXT = re.compile(r"^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+$")
EC2_TEXT_ALLOWED = "letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*"
NAME_RULES = {
    # EC2 CreateSecurityGroup GroupName
    "security group": NameRule("EC2", "security group names", 255, EC2_TEXT, EC2_TEXT_ALLOWED,
                               refused_prefixes=("sg-",)),
    # ELBv2 CreateTargetGroup Name (unlike load balancer names, `internal-` is allowed)
    "target group": NameRule("ELB", "target group names", 32, re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$"),
                             "letters, digits and -, not at either end"),
    # IAM CreateRole RoleName, PutRolePolicy PolicyName
    "role": NameRule("IAM", "role names", 64, _IAM_NAME, "letters, digits and +=,.@_-"),
    "inline policy": NameRule("IAM", "inline policy names", 128, _IAM_NAME, "letters, digits and +=,.@_-"),
    # CloudWatch Logs CreateLogGroup logGroupName
    "log group": NameRule("CloudWatch Logs", "log group names", 512, re.compile(r"^[.\-_/#A-Za-z0-9]+$"),
                          "letters, digits and ._-/#"),
    # ECS RegisterTaskDefinition family, CreateService serviceName
    "family": NameRule("ECS", "task definition families", 255, re.compile(r"^[A-Za-z0-9_-]+$"),
                       "letters, digits, - and _"),
    "ecs service": NameRule("ECS", "service names", 255, re.compile(r"^[A-Za-z0-9_-]+$"), "letters, digits, - and _"),
    # EventBridge Scheduler CreateSchedule Name
    "schedule": NameRule("EventBridge Scheduler", "schedule names", 64, re.compile(r"^[0-9a-zA-Z\-_.]+$"),
                         "letters, digits and -_."),
    # CloudWatch PutMetricAlarm AlarmName, Application Auto Scaling PutScalingPolicy PolicyName
    "alarm": NameRule("CloudWatch", "alarm names", 255, re.compile(r"^[^\x00-\x1f\x7f]+$"), "printable characters"),
    "scaling policy": NameRule("Application Auto Scaling", "policy names", 256, re.compile(r"^[^\x00-\x1f\x7f]+$"),
                               "printable characters"),
    # Docker / ECR image tags
    "image tag": NameRule("ECR", "image tags", 128, TAG, "letters, digits and _.-, not starting with . or -"),
    # ECR CreateRepository repositoryName
    "repository": NameRule("ECR", "repository names", 256, re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$"),
                           "lowercase letters, digits and single ._- between them", min_length=2),
}
# What the components build from a service's or job's resource name NAME and its task definition
# family FAMILY: (scope, what, template, rule). Scopes: task (its own task definition), service,
# web (a service with a port), job, and the web service features in NAME_FEATURES. tests/test_settings.py
# renders every one and compares (tests/test_deployment_strategies.py the features').
DERIVED_NAMES = (
    ("web", "target group", "{name}-tg" + AUTONAME, "target group"),
    ("task", "task execution role", "{name}-roles-execution" + AUTONAME, "role"),
    ("task", "task role", "{name}-roles-task" + AUTONAME, "role"),
    ("job", "scheduler role", "{name}-scheduler" + AUTONAME, "role"),
    ("job", "schedule", "{name}-schedule" + AUTONAME, "schedule"),
    ("task", "execution role's secrets policy", "{name}-roles-execution-secrets" + AUTONAME, "inline policy"),
    ("task", "task role's policy", "{name}-roles-task-app" + AUTONAME, "inline policy"),
    ("task", "task role's ECS Exec policy", "{name}-roles-task-exec" + AUTONAME, "inline policy"),
    ("job", "scheduler role's policy", "{name}-scheduler-run" + AUTONAME, "inline policy"),
    ("task", "image tag", "{name}-" + "x" * 16, "image tag"),
    ("service", "task security group", "{name}-sg" + AUTONAME, "security group"),
    ("job", "task security group", "{name}-sg" + AUTONAME, "security group"),
    ("service", "ECS service", "{name}-service" + AUTONAME, "ecs service"),
    ("web", "rollback alarm", "{name}-5xx" + AUTONAME, "alarm"),
    ("service", "CPU scaling policy", "{name}-scale-cpu" + AUTONAME, "scaling policy"),
    ("web", "request scaling policy", "{name}-scale-requests" + AUTONAME, "scaling policy"),
    ("task", "task definition family", "{family}", "family"),
    ("task", "log group", "/ecs/{family}", "log group"),
    ("latency", "p99 latency rollback alarm", "{name}-p99" + AUTONAME, "alarm"),
    ("rate", "5xx rate rollback alarm", "{name}-5xx-rate" + AUTONAME, "alarm"),
    ("shifting", "alternate target group", "{name}-tg-alt" + AUTONAME, "target group"),
    ("shifting", "ECS infrastructure role", "{name}-ecs-infra" + AUTONAME, "role"),
    ("shifting", "lifecycle hook role", "{name}-hooks" + AUTONAME, "role"),
    ("shifting", "lifecycle hook role's policy", "{name}-hooks-invoke" + AUTONAME, "inline policy"),
)
NAME_FEATURES = ("shifting", "latency", "rate")
"""Web service features with names of their own, only checked where the service has them (the
alternate target group's name takes 4 more characters of a name than the primary's):
`shifting` a traffic-shifting deployment (blueGreen, linear, canary), `latency` a p99 latency
rollback alarm, `rate` a 5xx rate rollback alarm. `components.fargate_service.name_features(service)` says which a service has."""


def _derived(name: str, family: str, *, web: bool, own_task: bool, job: bool, features: Collection[str] = ()
             ) -> list[tuple[str, str, NameRule, bool]]:
    """(what, physical name, rule, whether only the name varies) for a service's or job's name."""
    scopes = {"task"} if own_task else set()
    scopes |= {"job"} if job else {"service"} | ({"web"} | (set(features) & set(NAME_FEATURES)) if web else set())
    return [(what, template.format(name=name, family=family), NAME_RULES[rule], "{family}" not in template)
            for scope, what, template, rule in DERIVED_NAMES if scope in scopes]


def derived_names(name: str, family: str, *, web: bool, own_task: bool, job: bool,
                  features: Collection[str] = ()) -> list[tuple[str, str]]:
    """(what, physical name) of every AWS name the components derive from a service's or job's
    resource name and task definition family; autonames with their 7 random characters as x.
    `features`: of NAME_FEATURES, those the (web) service has."""
    return [(what, physical) for what, physical, _, _ in _derived(name, family, web=web, own_task=own_task, job=job,
                                                                  features=features)]


def check_derived_names(p: Problems, path: str, name: str, family: str, *, web: bool, own_task: bool, job: bool,
                        family_ok: bool = True, name_ok: bool = True, family_path: str | None = None,
                        features: Collection[str] = ()) -> None:
    """Every derived name AWS would refuse; of those too long, only the tightest limit.

    Without `family_ok` (the family is refused already) names that embed it are skipped, without
    `name_ok` those built from the name. `family_path`: where a name built from the family is
    reported (it is then not weighed against the name's budget); None: at `path`, as for a stack
    file, whose families are PROJECT-STACK-NAME.
    """
    too_long = []
    for what, physical, rule, name_only in _derived(name, family, web=web, own_task=own_task, job=job,
                                                    features=features):
        if not (name_ok if name_only else family_ok):
            continue
        problem = rule.problem(what, physical, len(name) if name_only else None)
        if problem is None:
            continue
        if len(physical) > rule.max_length and (name_only or family_path is None):
            too_long.append((rule.max_length - (len(physical) - len(name)), problem))
        else:
            p.fail(path if name_only or family_path is None else family_path, problem)
    if too_long:
        p.fail(path, min(too_long)[1])


EC2_DESCRIPTION_MAX = 255
"""EC2 CreateSecurityGroup GroupDescription and security group rule descriptions: at most 255 characters."""


def check_description_name(p: Problems, where: str, name: Any, descriptions: Sequence[str]) -> None:
    """A service's or job's `name`, which goes into EC2 security group (rule) `descriptions` (built
    with it; none while they hold a value only known at deploy time): EC2 takes only its charset
    there, and at most 255 characters."""
    if not isinstance(name, str) or not name:
        p.fail(where, f"expected a non-empty string, got {p.show(where, name)}")
    elif not EC2_TEXT.match(name):
        p.fail(where, f"{p.show(where, name)} goes into the descriptions of its EC2 security group, which allow only "
                      f"{EC2_TEXT_ALLOWED}")
    elif descriptions and len(longest := max(descriptions, key=len)) > EC2_DESCRIPTION_MAX:
        p.fail(where, f"is too long: the EC2 security group description '{longest}' would have {len(longest)} "
                      f"characters, and EC2 takes at most {EC2_DESCRIPTION_MAX}")


def check_names(p: Problems, name: str, family: Any, *, web: bool, own_task: bool, job: bool,
                features: Collection[str] = ()) -> None:
    """A FargateService's or ScheduledTask's resource name (`name`) and task definition family
    (`family`, when it has its own task), and the AWS names derived from them: the checks a stack
    file's service and job names get, so a name AWS would refuse fails here, not halfway through
    a deployment. `features`: of NAME_FEATURES, those the (web) service has."""
    if error := name_error(name):
        p.fail("name", error)
    family_ok = own_task
    if own_task and is_unknown(family):
        refuse_unknown(p, "family", "it names the task definition and its log group /ecs/FAMILY")
        family_ok = False
    elif own_task and (not isinstance(family, str) or not family):
        p.fail("family", f"expected a non-empty string, got {p.show('family', family)}")
        family_ok = False
    # Upper case is only our convention: a longer name is still measured against AWS's limits.
    check_derived_names(p, "name", name, family if family_ok else "", web=web, own_task=own_task, job=job,
                        family_ok=family_ok, name_ok=bool(NAME.match(name.lower())), family_path="family",
                        features=features)


def check_timezone(p: Problems, where: str, zone: str, *, hint: bool = True) -> bool:
    """An IANA time zone EventBridge Scheduler takes; `hint`: suggest the closest one (not for a secret)."""
    import zoneinfo

    known_zones = zoneinfo.available_timezones()
    if known_zones and zone not in known_zones and zone != "UTC":
        close = difflib.get_close_matches(zone, sorted(known_zones), n=1) if hint else []
        p.fail(where, f"{p.show(where, zone)} is not an IANA time zone like UTC or Europe/Berlin"
                      + (f"; did you mean '{close[0]}'?" if close else ""))
        return False
    return True
