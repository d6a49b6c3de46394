"""The Kubernetes manifests in deploy/kubernetes: schema-valid offline, and consistent with the service.

No cluster runs on the test machines. Every manifest is validated against the Kubernetes JSON
schemas bundled with `kubernetes-validate` (strict: unknown fields are errors), and the fields
the service relies on are checked against its own settings, loaders and Dockerfile.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from dicom_mcp.pacs.nodes import load_nodes
from dicom_mcp.security.auth import load_api_keys
from dicom_mcp.settings import Settings, environment_names
from dicom_mcp.transport.readiness import ECHO_TIMEOUT as READY_ECHO_TIMEOUT

REPO = Path(__file__).resolve().parents[1]
MANIFESTS = REPO / "deploy" / "kubernetes"
# The oldest Kubernetes the manifests claim (nothing newer is used) and the newest bundled schema.
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.latest_version())
INGRESS_HOST = "dicom-mcp.hospital.example"

Resource = dict[str, Any]


def setting_names() -> set[str]:
    return set(environment_names().values())


def manifest_files() -> list[Path]:
    return sorted(p for p in MANIFESTS.glob("*.yaml") if p.name != "kustomization.yaml")


def load_all() -> list[Resource]:
    return [doc for path in manifest_files() for doc in yaml.safe_load_all(path.read_text()) if doc]


def find(resources: list[Resource], kind: str, name: str) -> Resource:
    found = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def resources() -> list[Resource]:
    return load_all()


@pytest.fixture(scope="module")
def pod(resources: list[Resource]) -> Resource:
    return find(resources, "Deployment", "dicom-mcp")["spec"]["template"]


def container_of(pod: Resource) -> Resource:
    (container,) = pod["spec"]["containers"]
    return container


def pod_env(pod: Resource, resources: list[Resource]) -> dict[str, str]:
    """The container's environment as the kubelet builds it: envFrom first, then env overrides."""
    container = container_of(pod)
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(find(resources, "ConfigMap", source["configMapRef"]["name"])["data"])
    env.update({item["name"]: item["value"] for item in container.get("env", [])})
    return env


def env_names_used(resources: list[Resource]) -> set[str]:
    """Every variable a manifest sets: `env` entries anywhere and ConfigMap data keys."""

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "env" and isinstance(value, list):
                    yield from (item["name"] for item in value)
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    names = set(walk(resources))
    names |= {key for r in resources if r["kind"] == "ConfigMap" for key in r.get("data", {})}
    return names


def unknown_settings(resources: list[Resource]) -> set[str]:
    return {name for name in env_names_used(resources) if name.startswith("DICOM")} - setting_names()


def unmounted_files(pod: Resource, env: dict[str, str]) -> dict[str, str]:
    """Setting file paths that no volume mount of the container provides."""
    mounts = [PurePosixPath(m["mountPath"]) for m in container_of(pod).get("volumeMounts", [])]
    files = {k: v for k, v in env.items() if k in ("DICOM_MCP_API_KEYS_FILE", "DICOM_MCP_NODES_FILE")}
    return {k: v for k, v in files.items() if not any(PurePosixPath(v).is_relative_to(m) for m in mounts)}


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in list(os.environ):
        if name.startswith("DICOM"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


# --- Schemas -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_manifest_is_valid_against_the_kubernetes_schema(path: Path, version: str) -> None:
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert docs, f"{path.name} holds no resource"
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


BREAKAGES = {
    "misspelled field": lambda d: container_of(d["spec"]["template"])["securityContext"].update(
        readOnlyRootFilesystm=True
    ),
    "wrong type": lambda d: d["spec"].update(replicas="two"),
    "missing required field": lambda d: d["spec"]["template"]["spec"].pop("containers"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_schema_validation_catches_a_broken_deployment(resources: list[Resource], breakage: str) -> None:
    broken = copy.deepcopy(find(resources, "Deployment", "dicom-mcp"))
    BREAKAGES[breakage](broken)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def test_kustomization_lists_exactly_the_manifests() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    assert sorted(kustomization["resources"]) == [p.name for p in manifest_files()]


def test_image_name_and_tag_are_set_once_in_the_kustomization(pod: Resource) -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    (entry,) = kustomization["images"]
    # kustomize matches `name` against the image name; the deployment carries no tag to drift.
    assert container_of(pod)["image"] == entry["name"] == "dicom-mcp"
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert entry["newTag"] == version
    # The build command the deployment page and the kustomization give makes the image the entry names.
    build = f"docker build -t {entry['newName']}:{entry['newTag']} ."
    assert build in (REPO / "docs" / "operators" / "deployment.md").read_text()
    assert build in (MANIFESTS / "kustomization.yaml").read_text()


# --- Settings --------------------------------------------------------------------------------


def test_every_dicom_variable_in_the_manifests_is_a_real_setting(resources: list[Resource]) -> None:
    assert unknown_settings(resources) == set()
    assert "DICOM_MCP_SESSION_STORE" in env_names_used(resources)


def test_a_misspelled_setting_would_be_caught(resources: list[Resource]) -> None:
    broken = copy.deepcopy(resources)
    config = find(broken, "ConfigMap", "dicom-mcp-config")
    config["data"]["DICOM_MCP_SESSION_STOR"] = config["data"].pop("DICOM_MCP_SESSION_STORE")
    assert unknown_settings(broken) - unknown_settings(resources) == {"DICOM_MCP_SESSION_STOR"}


def test_env_and_configmap_do_not_set_the_same_variable(pod: Resource, resources: list[Resource]) -> None:
    config = find(resources, "ConfigMap", "dicom-mcp-config")["data"]
    assert not set(config) & {item["name"] for item in container_of(pod)["env"]}


def test_pod_environment_is_a_valid_configuration(
    pod: Resource, resources: list[Resource], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_from(pod_env(pod, resources), monkeypatch)
    assert settings.transport == "http"
    assert settings.host == "0.0.0.0"
    assert settings.audit_log == "-"
    assert settings.auth_enabled
    assert INGRESS_HOST in settings.allowed_hosts
    assert settings.public_url == f"https://{INGRESS_HOST}"


def test_service_links_are_off_so_they_cannot_shadow_settings(resources: list[Resource]) -> None:
    # A Service named dicom-mcp makes the kubelet inject DICOM_MCP_PORT=tcp://<ip>:80 otherwise.
    for deployment in (r for r in resources if r["kind"] == "Deployment"):
        assert deployment["spec"]["template"]["spec"]["enableServiceLinks"] is False


def test_session_store_is_the_redis_service(pod: Resource, resources: list[Resource]) -> None:
    url = urlsplit(pod_env(pod, resources)["DICOM_MCP_SESSION_STORE"])
    service = find(resources, "Service", "dicom-mcp-redis")
    assert url.scheme == "redis"
    assert url.port in {port["port"] for port in service["spec"]["ports"]}
    redis_pod = find(resources, "Deployment", url.hostname or "")["spec"]["template"]
    assert selects(service["spec"]["selector"], redis_pod["metadata"]["labels"])
    assert not selects(service["spec"]["selector"], pod["metadata"]["labels"])


# --- The dicom-mcp pod -----------------------------------------------------------------------


def test_container_ports_are_the_configured_ports(pod: Resource, resources: list[Resource]) -> None:
    env = pod_env(pod, resources)
    ports = {p["name"]: p["containerPort"] for p in container_of(pod)["ports"]}
    assert ports == {"http": int(env["DICOM_MCP_PORT"]), "dicom": int(env["DICOM_MCP_RECEIVER_PORT"])}
    assert ports == {"http": 8000, "dicom": 11113}


def test_probes_use_health_paths_on_the_http_port(pod: Resource) -> None:
    container = container_of(pod)
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    # /readyz waits up to READY_ECHO_TIMEOUT for the default PACS's C-ECHO before it answers.
    assert container["readinessProbe"]["timeoutSeconds"] > READY_ECHO_TIMEOUT


def test_runs_as_the_dockerfile_user(pod: Resource) -> None:
    user = re.search(r"^USER (\d+)$", (REPO / "Dockerfile").read_text(), flags=re.MULTILINE)
    assert user
    assert container_of(pod)["securityContext"]["runAsUser"] == int(user.group(1))
    assert pod["spec"]["securityContext"]["runAsUser"] == int(user.group(1))


@pytest.mark.parametrize("name", ["dicom-mcp", "dicom-mcp-redis"])
def test_every_container_is_locked_down(resources: list[Resource], name: str) -> None:
    spec = find(resources, "Deployment", name)["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is False
    for container in spec["containers"]:
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True
        assert context["runAsUser"] > 0
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert container["resources"]["requests"]
        assert container["resources"]["limits"]


@pytest.mark.parametrize(("name", "path"), [("dicom-mcp", "/tmp"), ("dicom-mcp-redis", "/data")])
def test_writable_paths_are_empty_dirs(resources: list[Resource], name: str, path: str) -> None:
    spec = find(resources, "Deployment", name)["spec"]["template"]["spec"]
    (mount,) = [m for m in spec["containers"][0]["volumeMounts"] if m["mountPath"] == path]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert "emptyDir" in volume


def test_replicas_and_disruption_budget(resources: list[Resource], pod: Resource) -> None:
    replicas = find(resources, "Deployment", "dicom-mcp")["spec"]["replicas"]
    budget = find(resources, "PodDisruptionBudget", "dicom-mcp")["spec"]
    assert replicas >= 2
    assert 1 <= budget["minAvailable"] < replicas
    assert selects(budget["selector"]["matchLabels"], pod["metadata"]["labels"])
    assert find(resources, "Deployment", "dicom-mcp-redis")["spec"]["replicas"] == 1


def test_grace_period_outlasts_the_shutdown_grace(pod: Resource, resources: list[Resource]) -> None:
    grace = float(pod_env(pod, resources)["DICOM_MCP_SHUTDOWN_GRACE"])
    command = container_of(pod)["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    assert pod["spec"]["terminationGracePeriodSeconds"] > int(command[1]) + grace


def test_secret_files_are_mounted_and_parse(pod: Resource, resources: list[Resource], tmp_path: Path) -> None:
    env = pod_env(pod, resources)
    assert unmounted_files(pod, env) == {}
    mounts = {m["mountPath"]: m for m in container_of(pod)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    secret_data = find(resources, "Secret", "dicom-mcp-secrets")["stringData"]
    for variable in ("DICOM_MCP_API_KEYS_FILE", "DICOM_MCP_NODES_FILE"):
        path = PurePosixPath(env[variable])
        mount = mounts[str(path.parent)]
        secret = volumes[mount["name"]]["secret"]
        assert secret["secretName"] == "dicom-mcp-secrets"
        keys = {item["path"]: item["key"] for item in secret.get("items", [])} or {k: k for k in secret_data}
        (tmp_path / path.name).write_text(secret_data[keys[path.name]])
    assert [key.principal for key in load_api_keys(tmp_path / "api-keys")] == ["alice"]
    assert set(load_nodes(tmp_path / "nodes.toml").targets) == {"main", "research"}


def test_a_file_outside_the_mounts_would_be_caught(pod: Resource, resources: list[Resource]) -> None:
    env = pod_env(pod, resources) | {"DICOM_MCP_NODES_FILE": "/etc/dicom-mcp/nodes.toml"}
    assert unmounted_files(pod, env) == {"DICOM_MCP_NODES_FILE": "/etc/dicom-mcp/nodes.toml"}


# --- Routing -----------------------------------------------------------------------------------


def test_service_targets_the_named_port(resources: list[Resource], pod: Resource) -> None:
    service = find(resources, "Service", "dicom-mcp")["spec"]
    assert service["type"] == "ClusterIP"
    assert service["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert selects(service["selector"], pod["metadata"]["labels"])


def test_ingress_serves_the_allowed_host_over_tls(resources: list[Resource], pod: Resource) -> None:
    ingress = find(resources, "Ingress", "dicom-mcp")["spec"]
    assert ingress["ingressClassName"] == "nginx"
    (rule,) = ingress["rules"]
    assert rule["host"] == INGRESS_HOST
    assert rule["host"] in pod_env(pod, resources)["DICOM_MCP_ALLOWED_HOSTS"].split(",")
    assert any(rule["host"] in tls["hosts"] and tls["secretName"] for tls in ingress["tls"])
    paths = {p["path"]: p["backend"]["service"] for p in rule["http"]["paths"]}
    assert {"/mcp", "/sse", "/messages"} <= set(paths)
    service_ports = {p["name"] for p in find(resources, "Service", "dicom-mcp")["spec"]["ports"]}
    for backend in paths.values():
        assert backend["name"] == "dicom-mcp"
        assert backend["port"]["name"] in service_ports


def test_ingress_pins_older_clients_and_streams_events(resources: list[Resource]) -> None:
    notes = find(resources, "Ingress", "dicom-mcp")["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert notes[prefix + "affinity"] == "cookie"
    assert notes[prefix + "session-cookie-name"]
    # /sse and /messages/ of one legacy SSE session must share the cookie.
    assert notes[prefix + "session-cookie-path"] == "/"
    assert notes[prefix + "proxy-buffering"] == "off"
    assert int(notes[prefix + "proxy-read-timeout"]) >= 600


def test_only_dicom_mcp_pods_may_reach_redis(resources: list[Resource], pod: Resource) -> None:
    policy = find(resources, "NetworkPolicy", "dicom-mcp-redis")["spec"]
    redis_pod = find(resources, "Deployment", "dicom-mcp-redis")["spec"]["template"]
    assert selects(policy["podSelector"]["matchLabels"], redis_pod["metadata"]["labels"])
    assert policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    (peer,) = rule["from"]
    assert set(peer) == {"podSelector"}
    assert selects(peer["podSelector"]["matchLabels"], pod["metadata"]["labels"])
    assert not selects(peer["podSelector"]["matchLabels"], redis_pod["metadata"]["labels"])
    assert rule["ports"] == [{"protocol": "TCP", "port": 6379}]


# --- The receiver ------------------------------------------------------------------------------


def named_port(pod: Resource, port: int | str) -> int:
    """A port as a number: a container port's name resolved in the dicom-mcp container."""
    ports = {p["name"]: p["containerPort"] for p in container_of(pod)["ports"]}
    return ports[port] if isinstance(port, str) else port


def receiver_rule(resources: list[Resource]) -> Resource:
    """The dicom-mcp NetworkPolicy's rule for the receiver: the one that names who may connect."""
    (rule,) = [r for r in find(resources, "NetworkPolicy", "dicom-mcp")["spec"]["ingress"] if "from" in r]
    return rule


def receiver_ports(resources: list[Resource]) -> dict[str, int]:
    """The receiver's port as each manifest states it; the PACS registers the Service's."""
    pod = find(resources, "Deployment", "dicom-mcp")["spec"]["template"]
    (service,) = find(resources, "Service", "dicom-mcp-receiver")["spec"]["ports"]
    (allowed,) = receiver_rule(resources)["ports"]
    return {
        "DICOM_MCP_RECEIVER_PORT": int(pod_env(pod, resources)["DICOM_MCP_RECEIVER_PORT"]),
        "containerPort dicom": named_port(pod, "dicom"),
        "Service targetPort": named_port(pod, service["targetPort"]),
        "Service port": service["port"],
        "NetworkPolicy port": named_port(pod, allowed["port"]),
    }


def pacs_cidrs(resources: list[Resource]) -> list[str]:
    return [peer["ipBlock"]["cidr"] for peer in receiver_rule(resources)["from"]]


def test_receiver_port_agrees_across_env_container_service_and_policy(resources: list[Resource]) -> None:
    ports = receiver_ports(resources)
    assert set(ports.values()) == {11113}, ports


def test_a_receiver_port_that_drifts_would_be_caught(resources: list[Resource]) -> None:
    broken = copy.deepcopy(resources)
    container = container_of(find(broken, "Deployment", "dicom-mcp")["spec"]["template"])
    (entry,) = [e for e in container["env"] if e["name"] == "DICOM_MCP_RECEIVER_PORT"]
    entry["value"] = "11114"
    assert {k for k, v in receiver_ports(broken).items() if v != 11113} == {"DICOM_MCP_RECEIVER_PORT"}


def test_pod_environment_runs_the_receiver_on_every_replica(
    pod: Resource, resources: list[Resource], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_from(pod_env(pod, resources), monkeypatch)
    assert settings.receiver_port == 11113
    assert (settings.receiver_host or settings.host) == "0.0.0.0"  # where the Service's traffic arrives
    assert settings.dicom_retrieve == "auto"
    # One registration at the PACS for all replicas: an instance reaching another replica than the
    # waiting one is handed over through Redis, which needs the Redis store.
    assert find(resources, "Deployment", "dicom-mcp")["spec"]["replicas"] > 1
    assert urlsplit(settings.session_store).scheme == "redis"


def test_receiver_service_reaches_the_pods_and_keeps_the_pacs_address(
    resources: list[Resource], pod: Resource
) -> None:
    service = find(resources, "Service", "dicom-mcp-receiver")["spec"]
    assert selects(service["selector"], pod["metadata"]["labels"])
    assert service["type"] == "LoadBalancer"
    # The receiver and the NetworkPolicy check the PACS's source address: kube-proxy must not
    # rewrite it to a node's (the default, Cluster, does).
    assert service["externalTrafficPolicy"] == "Local"
    assert service["loadBalancerSourceRanges"] == pacs_cidrs(resources)
    assert [p["protocol"] for p in service["ports"]] == ["TCP"]


def test_network_policy_admits_only_the_pacs_to_the_receiver_and_leaves_http_open(
    resources: list[Resource], pod: Resource
) -> None:
    policy = find(resources, "NetworkPolicy", "dicom-mcp")["spec"]
    redis_pod = find(resources, "Deployment", "dicom-mcp-redis")["spec"]["template"]
    assert selects(policy["podSelector"]["matchLabels"], pod["metadata"]["labels"])
    assert not selects(policy["podSelector"]["matchLabels"], redis_pod["metadata"]["labels"])
    assert policy["policyTypes"] == ["Ingress"]
    env = pod_env(pod, resources)
    http, receiver = policy["ingress"]
    # No `from`: any source may reach HTTP, as before the policy (ingress controller, probes, scrapes).
    assert http == {"ports": [{"protocol": "TCP", "port": int(env["DICOM_MCP_PORT"])}]}
    assert receiver == receiver_rule(resources)
    assert all(set(peer) == {"ipBlock"} for peer in receiver["from"])
    assert all(ipaddress.ip_network(cidr) for cidr in pacs_cidrs(resources))
    assert receiver["ports"] == [{"protocol": "TCP", "port": int(env["DICOM_MCP_RECEIVER_PORT"])}]
    # Every port of the container is covered by one rule, so none is closed by accident.
    covered = {named_port(pod, p["port"]) for rule in policy["ingress"] for p in rule["ports"]}
    assert covered == {p["containerPort"] for p in container_of(pod)["ports"]}
