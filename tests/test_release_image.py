"""`releaseImage`: CI builds the app once, pushes it by digest, and every stack runs that digest.

The key replaces the `build` and `imageTag` sources (the app this repository builds) and leaves
`image:` sources (third-party images) alone; a job reusing a service's task definition follows
the service. Only a full reference pinned by digest is accepted.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from testkit import ROOT, SHIPPED_STACKS, children_of_type, container, render_stack
from preflight.__main__ import main as preflight_main
from settings import SettingsError, parse

DIGEST = "sha256:" + "0123456789abcdef" * 4
# A release repository in another account and region than the stacks (bootstrap's shape).
RELEASE = f"210987654321.dkr.ecr.eu-central-1.amazonaws.com/ecs-fargate-release:3f2a1b9@{DIGEST}"
KEY = "ecs-fargate:releaseImage"
TASK_DEF = "aws:ecs/taskDefinition:TaskDefinition"
DOCKER_IMAGE = "docker-build:index:Image"
PROD_WORKER_IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"


def parsed(raw: dict, **kwargs):
    return parse(raw, project="ecs-fargate", stack="test", region="us-east-1", **kwargs)


def problems(raw: dict, **kwargs) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parsed(raw, **kwargs)
    return caught.value.problems


def stack(**overrides) -> dict:
    """A dev stack with one service of each source and a job of each kind."""
    return {
        "environment": "dev",
        "services": {
            "web": {"build": "./app", "port": 3000},
            "api": {"imageTag": "1.4.2", "port": 8080, "pathPatterns": ["/api/*"]},
            "proxy": {"image": "public.ecr.aws/nginx/nginx:1.27", "port": 80, "pathPatterns": ["/proxy/*"]},
        },
        "scheduledTasks": {
            "reuses-api": {"service": "api", "schedule": "rate(1 day)", "command": ["python", "job.py"]},
            "own-build": {"build": "./app", "schedule": "rate(1 day)"},
            "own-tag": {"imageTag": "2.0", "schedule": "rate(1 day)"},
            "third-party": {"image": "busybox:1.36", "schedule": "rate(1 day)"},
        },
        **overrides,
    }


# -- Settings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("reference", [
    f"123456789012.dkr.ecr.us-east-1.amazonaws.com/ecs-fargate-release@{DIGEST}",
    f"123456789012.dkr.ecr.us-east-1.amazonaws.com/ecs-fargate-release:3f2a1b9@{DIGEST}",
    f"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/app:v1.4.2@{DIGEST}",
    f"public.ecr.aws/my-org/app@{DIGEST}",
    f"public.ecr.aws/my-org/app:main@{DIGEST}",
    f"registry.example.com:5000/app@{DIGEST}",
    f"registry.example.com:5000/group/app:1.0@{DIGEST}",
    f"localhost:5000/app@{DIGEST}",
    # A digest pins the image; the tag beside it is a label only (the pack says the same).
    f"ghcr.io/org/app:latest@{DIGEST}",
])
def test_digest_pinned_references_are_accepted(reference):
    assert parsed(stack(releaseImage=reference)).release_image == reference


@pytest.mark.parametrize("reference, message", [
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest",
     "is not pinned by digest: give REGISTRY/REPOSITORY[:TAG]@sha256:<64 lowercase hex>, the digest CI pushed, "
     "so that every environment runs the same image; a tag can be pushed again with other bytes "
     "(':latest' is whatever was pushed last)"),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.4.2",
     "is not pinned by digest: give REGISTRY/REPOSITORY[:TAG]@sha256:<64 lowercase hex>, the digest CI pushed, "
     "so that every environment runs the same image; a tag can be pushed again with other bytes"),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/app", "is not pinned by digest"),
    ("localhost:5000/app", "is not pinned by digest"),
    (f"r.example.com/app@{DIGEST[:-1]}", "has no valid digest: after @ comes sha256: and 64 lowercase hex digits "
                                         "(REGISTRY/REPOSITORY[:TAG]@sha256:<64 lowercase hex>)"),
    (f"r.example.com/app@{DIGEST}0", "has no valid digest"),
    ("r.example.com/app@sha512:" + "ab" * 64, "has no valid digest"),
    ("r.example.com/app@sha256:" + "g" * 64, "has no valid digest"),
    (f"r.example.com/app@{DIGEST.upper().replace('SHA256', 'sha256')}",
     f"has no valid digest: after @ comes sha256: and 64 lowercase hex digits "
     f"(REGISTRY/REPOSITORY[:TAG]@sha256:<64 lowercase hex>) (did you mean 'r.example.com/app@{DIGEST}'?)"),
    (f"r.example.com/app@{DIGEST.removeprefix('sha256:')}", f"(did you mean 'r.example.com/app@{DIGEST}'?)"),
    (f"app@{DIGEST}", "names no registry host: REGISTRY/REPOSITORY[:TAG]@sha256:<64 lowercase hex> with the "
                      "registry's host first, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:...; "
                      "without one it means Docker Hub"),
    (f"my-team/app@{DIGEST}", "names no registry host"),
    (f"r.example.com/App@{DIGEST}", "is not an image reference"),
    (f"r.example.com/app:bad*tag@{DIGEST}", "is not an image reference"),
    (f" r.example.com/app@{DIGEST}", "is not an image reference"),
    (f"r.example.com/{'a' * 200}@{DIGEST}", "is longer than the 255 characters ECS takes for an image (it has 286)"),
])
def test_anything_but_a_digest_pinned_reference_is_refused(reference, message):
    [problem] = problems(stack(releaseImage=reference))
    assert problem.startswith(f"releaseImage: {reference!r} ") and message in problem, problem


@pytest.mark.parametrize("value", ["", 42, ["r.example.com/app@" + DIGEST], {"image": "x"}, True])
def test_a_value_that_is_no_string_says_what_is_expected(value):
    [problem] = problems(stack(releaseImage=value))
    assert problem.startswith("releaseImage: expected an image reference pinned by digest, "
                              "REGISTRY/REPOSITORY[:TAG]@sha256:<64 lowercase hex>, got "), problem


def test_its_problem_is_reported_with_every_other_one():
    raw = stack(releaseImage="r.example.com/app:latest", registyr={})
    raw["services"]["web"]["memory"] = 3000
    found = problems(raw)
    assert [p.split(":")[0] for p in found] == ["registyr", "services.web.memory", "releaseImage"], found


@pytest.mark.parametrize("key", ["releaseimage", "release_image", "releaseImg", "ReleaseImage"])
def test_a_misspelled_key_gets_did_you_mean(key):
    [problem] = problems(stack(**{key: RELEASE}))
    assert problem.startswith(f"{key}: unknown key; did you mean 'releaseImage'? valid keys: "), problem
    assert problem.endswith(", releaseImage"), problem


def test_a_secret_value_is_never_quoted():
    [problem] = problems(stack(releaseImage="r.example.com/app:latest"), secret_keys={"releaseImage"})
    assert problem.startswith("releaseImage: <secret> is not pinned by digest"), problem
    assert "r.example.com" not in problem and "latest" not in problem, problem


def test_build_and_image_tag_sources_run_the_release_image_and_image_sources_stay():
    settings = parsed(stack(releaseImage=RELEASE))
    services = {s.name: s.task.source for s in settings.services}
    assert {name: source.image for name, source in services.items()} == {
        "web": RELEASE, "api": RELEASE, "proxy": "public.ecr.aws/nginx/nginx:1.27"}
    assert all(s.build is None and s.image_tag is None for s in services.values()), services
    jobs = {j.name: j for j in settings.scheduled_tasks}
    assert jobs["own-build"].task.source.image == RELEASE and jobs["own-build"].task.source.build is None
    assert jobs["own-tag"].task.source.image == RELEASE and jobs["own-tag"].task.source.image_tag is None
    assert jobs["third-party"].task.source.image == "busybox:1.36"
    # It runs the api's task definition, so it runs what the api runs.
    assert jobs["reuses-api"].service == "api" and jobs["reuses-api"].task is None
    assert settings.warnings == ()


def test_without_the_key_every_source_is_as_configured():
    settings = parsed(stack())
    assert settings.release_image is None
    sources = {s.name: s.task.source for s in settings.services}
    assert sources["web"].build is not None and sources["api"].image_tag == "1.4.2"


def test_a_stack_of_third_party_images_only_warns_that_it_changes_nothing():
    settings = parsed({"environment": "dev", "services": {"proxy": {"image": "nginx:1.27", "port": 80}},
                       "releaseImage": RELEASE})
    assert settings.services[0].task.source.image == "nginx:1.27"
    assert settings.warnings == ("releaseImage: no service or scheduled task of this stack uses build or imageTag, "
                                 "so none runs the release image; their images come from image: as configured",)


# -- The program, under mocks -----------------------------------------------------------------

@pytest.fixture(scope="module")
def dev_release():
    return render_stack("dev", {KEY: RELEASE})


@pytest.fixture(scope="module")
def prod_release():
    return render_stack("prod", {KEY: RELEASE})


def image_of(rendering, component: str) -> str:
    [task_definition] = children_of_type(rendering, component, TASK_DEF)
    return container(task_definition)["image"]


def test_dev_runs_the_release_image_instead_of_building(dev, dev_release):
    assert dev.of_type(DOCKER_IMAGE), "without releaseImage dev builds ./app (else the next check proves nothing)"
    assert dev_release.of_type(DOCKER_IMAGE) == []
    assert image_of(dev_release, "web") == RELEASE
    assert dev_release.exports["services"]["web"]["image"] == RELEASE


def test_the_stack_exports_the_release_image_it_runs_for_ci_to_read_back(dev, dev_release, prod_release):
    """CI's pull-request previews and drift checks read the `releaseImage` output (`pulumi stack
    output`) and preview with it, so they compare against what runs, not against a new build."""
    assert dev_release.exports["releaseImage"] == prod_release.exports["releaseImage"] == RELEASE
    assert "releaseImage" not in dev.exports


def test_prod_api_runs_the_release_image_and_the_worker_keeps_its_own(prod, prod_release):
    assert image_of(prod, "api").endswith(":1.4.2")
    assert image_of(prod_release, "api") == RELEASE
    assert image_of(prod_release, "worker") == PROD_WORKER_IMAGE
    services = prod_release.exports["services"]
    assert (services["api"]["image"], services["worker"]["image"]) == (RELEASE, PROD_WORKER_IMAGE)


def test_prod_nightly_job_follows_the_api(prod_release):
    [api_task] = children_of_type(prod_release, "api", TASK_DEF)
    assert children_of_type(prod_release, "nightly-import", TASK_DEF) == []
    schedule = prod_release.one("aws:scheduler/schedule:Schedule")
    assert schedule.inputs["target"]["ecsParameters"]["taskDefinitionArn"] == api_task.outputs["arn"]
    assert container(api_task)["image"] == RELEASE


def test_staging_runs_the_release_image():
    staging_release = render_stack("staging", {KEY: RELEASE})
    assert staging_release.of_type(DOCKER_IMAGE) == []
    assert image_of(staging_release, "web") == RELEASE


def test_the_execution_role_keeps_the_managed_policy_that_pulls_from_any_repository(prod_release):
    """AmazonECSTaskExecutionRolePolicy grants the ECR pull actions on every repository; a
    repository in another account must also allow the pull in its own policy (bootstrap/)."""
    [execution] = [r for r in children_of_type(prod_release, "api", "aws:iam/role:Role") if r.name.endswith("-execution")]
    [attachment] = [a for a in children_of_type(prod_release, "api", "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                    if a.inputs["role"] == execution.outputs["name"]]
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


# -- The policy pack, as CI runs it on the stack file ------------------------------------------

PROGRAM = ("Pulumi.yaml", "__main__.py", "settings.py")


def with_release_image(tmp_path: Path, stack_name: str) -> Path:
    """The program in a temporary directory, the stack file with releaseImage as CI sets it."""
    for name in PROGRAM:
        shutil.copy(ROOT / name, tmp_path / name)
    for directory in ("components", "app"):
        shutil.copytree(ROOT / directory, tmp_path / directory, ignore=shutil.ignore_patterns("__pycache__"))
    document = yaml.safe_load((ROOT / f"Pulumi.{stack_name}.yaml").read_text())
    document["config"][KEY] = RELEASE
    (tmp_path / f"Pulumi.{stack_name}.yaml").write_text(yaml.safe_dump(document))
    return tmp_path


def with_release_registry_allowed(tmp_path: Path, stack_name: str) -> Path:
    environment = yaml.safe_load((ROOT / f"Pulumi.{stack_name}.yaml").read_text())["config"][
        "ecs-fargate:environment"]
    config = json.loads((ROOT / "policies" / "config" / f"{environment}.json").read_text())
    rule = config["ecs-image-allowed-registries"]
    rule["allowedRegistries"] = [*rule.get("allowedRegistries", []), RELEASE.split(":", 1)[0]]
    path = tmp_path / f"policy-config-{environment}.json"
    path.write_text(json.dumps(config))
    return path


def test_prod_refuses_a_release_image_from_an_unlisted_account(capsys, tmp_path):
    program = with_release_image(tmp_path, "prod")
    code = preflight_main(["--stack", "prod", "--cwd", str(program), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code != 0
    assert {v["policy"] for v in document["violations"] if v["enforcementLevel"] == "mandatory"} == {
        "ecs-image-allowed-registries"}


@pytest.mark.parametrize("stack_name", SHIPPED_STACKS)
@pytest.mark.parametrize("preview", [False, True])
def test_the_pack_passes_every_stack_running_a_release_image(capsys, tmp_path, stack_name, preview):
    program = with_release_image(tmp_path, stack_name)
    # The release repository is in another account: the team lists it beside the stack's own ECR
    # in ecs-image-allowed-registries (policies/config/<environment>.json).
    config_path = with_release_registry_allowed(tmp_path, stack_name)
    code = preflight_main(["--stack", stack_name, "--cwd", str(program), "--json", "--policy-config",
                           str(config_path), *(["--preview"] if preview else [])])
    document = json.loads(capsys.readouterr().out)
    assert document["summary"]["mandatory"] == 0, [v for v in document["violations"]
                                                   if v["enforcementLevel"] == "mandatory"]
    assert code == 0
    assert not [v for v in document["violations"] if v["policy"].startswith("ecs-image-")], document["violations"]
