"""The deployment files agree with the code: setting names, secrets, probes, queue names.
(Their syntax is checked by `make check-deploy`: hadolint, kubernetes-validate, compose schema.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import yaml

from scheduler.operations import DELIVERY_FIELDS
from worker.celery_app import QUEUE
from worker.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
KUBERNETES = ROOT / "deploy" / "kubernetes"
UNSHIPPED = (".git", ".venv", ".outreach", "build", "*.egg-info", "__pycache__", ".*_cache")
SETTING = re.compile(r"\bOUTREACH_[A-Z_]+\b")


def _manifests() -> dict[str, dict[str, Any]]:
    documents = {}
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            documents[f"{document['kind']}/{document['metadata']['name']}"] = document
    return documents


def _env_references(accounts_toml: str) -> set[str]:
    accounts = tomllib.loads(accounts_toml)["accounts"]
    return {
        value.removeprefix("env:")
        for table in accounts.values()
        for value in table.values()
        if isinstance(value, str) and value.startswith("env:")
    }


def test_every_outreach_variable_the_deploy_files_set_is_a_setting() -> None:
    known = {f"OUTREACH_{name.upper()}" for name in Settings.model_fields}
    files = [
        ROOT / "docker-compose.yml",
        ROOT / ".env.example",
        ROOT / "deploy" / "Dockerfile",
        *KUBERNETES.glob("*.yaml"),
    ]
    used = {(path.name, name) for path in files for name in SETTING.findall(path.read_text())}

    assert {name for _, name in used} - known == set(), sorted(used)
    assert len(used) > 10  # the pattern does find them


def test_every_secret_the_accounts_refer_to_is_provided() -> None:
    manifests = _manifests()
    config = manifests["ConfigMap/outreach-config"]["data"]
    secret = manifests["Secret/outreach-secrets"]["stringData"]
    assert _env_references(config["accounts.toml"]) <= set(secret)

    example = (ROOT / "accounts.example.toml").read_text()
    env_example = (ROOT / ".env.example").read_text()
    for name in _env_references(example):
        assert re.search(rf"^{name}=", env_example, re.MULTILINE), name


def test_workers_scale_on_the_celery_queue_they_consume() -> None:
    manifests = _manifests()
    scaled = manifests["ScaledObject/outreach-worker"]["spec"]
    trigger = scaled["triggers"][0]

    assert scaled["scaleTargetRef"]["name"] in {
        name.split("/", 1)[1] for name in manifests if name.startswith("Deployment/")
    }
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] == QUEUE
    address_variable = trigger["metadata"]["addressFromEnv"]
    assert address_variable in manifests["ConfigMap/outreach-config"]["data"]


def test_probes_hit_the_endpoints_on_the_metrics_port() -> None:
    manifests = _manifests()
    port = int(manifests["ConfigMap/outreach-config"]["data"]["OUTREACH_METRICS_PORT"])
    for name in ("Deployment/outreach-worker", "Deployment/outreach-scheduler"):
        pod = manifests[name]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["metrics"] == port, name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["resources"]["requests"], name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
    worker = manifests["Deployment/outreach-worker"]["spec"]["template"]["spec"]
    # Longer than a provider call may take (the read timeout), so a send under way finishes.
    assert worker["terminationGracePeriodSeconds"] > Settings().http_read_timeout_seconds * 2


def test_the_api_is_deployed_with_probes_on_its_own_port() -> None:
    manifests = _manifests()
    pod = manifests["Deployment/outreach-api"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    port = int(container["args"][container["args"].index("--port") + 1])
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": port}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    service = manifests["Service/outreach-api"]["spec"]
    assert (
        service["selector"]
        == manifests["Deployment/outreach-api"]["spec"]["selector"]["matchLabels"]
    )
    assert service["ports"][0]["targetPort"] == "http"

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["api"]
    assert compose["command"][compose["command"].index("--port") + 1] == str(port)
    assert f"{port}/readyz" in " ".join(compose["healthcheck"]["test"])
    assert compose["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_the_image_pins_every_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["postgres"]
    lock = (ROOT / "deploy" / "requirements.lock").read_text()
    pinned = {
        line.split("==")[0].lower().replace("_", "-") for line in lock.splitlines() if "==" in line
    }
    for requirement in wanted:
        name = re.split(r"[<>=\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pinned, f"{name}: run `make lock`"


def test_the_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `(OUTREACH_[A-Z_]+)` \|", readme, re.MULTILINE))

    assert documented == {f"OUTREACH_{name.upper()}" for name in Settings.model_fields}


def test_the_package_carries_its_data_files(tmp_path: Path) -> None:
    """What the image installs is the wheel: it must hold the Lua scripts, the migrations,
    the live page's templates and the demo's sample campaign, not only Python modules."""
    source = tmp_path / "source"  # a copy: building in place would leave build/ behind
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*UNSHIPPED))
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet"]
    subprocess.run([*pip, "-w", str(tmp_path), str(source)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("outreach-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    for expected in (
        "worker/lua/release.lua",
        "worker/migrations/script.py.mako",
        "worker/migrations/versions/0001_initial_schema.py",
        "scheduler/dev/sample/campaign.toml",
        "scheduler/dev/sample/leads.csv",
        "scheduler/dev/sample/accounts.toml",
        "scheduler/api/page/templates/page.html",
        "scheduler/api/page/static/live.js",
    ):
        assert expected in names


def test_the_readme_lists_exactly_the_delivery_fields_users_see() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("`outreach deliveries --json` prints one object per line with")
    sentence = readme[start : readme.index(".", readme.index("`updated_at`", start))]
    listed = re.findall(r"`([a-z_]+)`", sentence.split("with", 1)[1])
    assert tuple(listed) == DELIVERY_FIELDS
