"""The Kubernetes manifests: rendered by kustomize (base and production overlay), validated
against the Kubernetes JSON schemas, and checked against the topology and the settings."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from connectors.secrets import secrets_folder
from control.kubernetes.manifests import object_name, settings_from_env, sink_flush_s
from control.kubernetes.render import main
from control.pipeline import DEFAULT_BASE_PORT, DEFAULT_GROUP_PREFIX, SetupStep, sink_group
from headwater.settings import (
    ENV_PREFIX,
    Settings,
    known_variables,
    load_settings,
    secret_variable_names,
)
from headwater.topology import API_SOURCES, CDC_MONITOR, PROCESSOR, SINKS, port_offsets
from headwater.topology import secret_sections as topology_secrets
from stream_processors.topics import processor_topics

ROOT = Path(__file__).resolve().parents[3]
KUBERNETES = ROOT / "deploy" / "kubernetes"
RULES = ROOT / "deploy" / "prometheus" / "rules" / "headwater.yml"
#: `make kustomize` installs it here (Go module proxy); KUSTOMIZE names another one
KUSTOMIZE = os.environ.get("KUSTOMIZE", str(ROOT / ".tools" / "bin" / "kustomize"))
#: the newest Kubernetes whose schemas kubernetes-validate ships, and an older one in use
KUBERNETES_VERSIONS = ("1.37.0", "1.31.0")
CRDS = {
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
KUSTOMIZATIONS = ["base", "overlays/production"]

Objects = list[dict[str, Any]]


def render(kustomization: str) -> Objects:
    """``kustomize build`` of a folder under deploy/kubernetes, as objects."""
    assert Path(KUSTOMIZE).exists(), f"no kustomize at {KUSTOMIZE}: run `make kustomize`"
    built = subprocess.run(
        [KUSTOMIZE, "build", str(KUBERNETES / kustomization)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return [o for o in yaml.safe_load_all(built.stdout) if o]


@pytest.fixture(scope="module", params=KUSTOMIZATIONS)
def rendered(request: pytest.FixtureRequest) -> Objects:
    return render(request.param)


def of_kind(objects: Objects, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def settings_of(objects: Objects) -> Settings:
    """The settings the rendered ConfigMap gives every pod."""
    (configmap,) = of_kind(objects, "ConfigMap").values()
    data = configmap["data"]
    return settings_from_env({k: v for k, v in data.items() if k.startswith(ENV_PREFIX)})


def deployment_of(objects: Objects, service: str) -> dict[str, Any]:
    return of_kind(objects, "Deployment")[object_name(service)]


def pod_specs(objects: Objects) -> list[dict[str, Any]]:
    return [o["spec"]["template"]["spec"] for o in objects if o["kind"] in ("Deployment", "Job")]


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def test_committed_base_is_what_the_code_generates() -> None:
    assert main(["--check", str(KUBERNETES / "base"), "--rules", str(RULES)]) == 0, (
        "run: make kubernetes"
    )


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_against_the_kubernetes_schemas(
    rendered: Objects, version: str
) -> None:
    checked = 0
    for obj in rendered:
        if (obj["apiVersion"], obj["kind"]) in CRDS:
            continue  # no schema shipped: their fields are checked by the tests below
        kubernetes_validate.validate(obj, version, strict=True)  # raises on any error
        checked += 1
    assert checked >= 20
    kinds = {o["kind"] for o in rendered}
    assert {"Deployment", "PodDisruptionBudget", "Job", "ConfigMap"} <= kinds
    assert {kind for _, kind in CRDS} - {"TriggerAuthentication"} <= kinds


def test_the_validator_refuses_a_broken_object(rendered: Objects) -> None:
    broken = dict(deployment_of(rendered, PROCESSOR))
    broken["spec"] = {**broken["spec"], "replicas": "two"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def test_every_service_has_a_deployment_with_probes_on_its_port(rendered: Objects) -> None:
    services = set(port_offsets())
    assert {object_name(s) for s in services} == set(of_kind(rendered, "Deployment"))
    expected_args = {PROCESSOR: ["process"], CDC_MONITOR: ["connectors", "monitor"]}
    expected_args |= {
        e.service: ["sink", e.name, "--group-id", sink_group(DEFAULT_GROUP_PREFIX, e.name)]
        for e in SINKS
    }
    expected_args |= {s.service: ["poll", s.name] for s in API_SOURCES}
    for service, offset in port_offsets().items():
        pod = deployment_of(rendered, service)["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        port = DEFAULT_BASE_PORT + offset
        assert container["args"] == expected_args[service]
        assert container["ports"] == [{"name": "metrics", "containerPort": port, "protocol": "TCP"}]
        assert {"name": "HEADWATER_HTTP__PORT", "value": str(port)} in container["env"]
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            assert container[probe]["httpGet"] == {"path": path, "port": "metrics"}
        assert "headwater" in container["image"]


#: DNS-1123: object names (subdomain) and container names (label)
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def test_names_are_valid_kubernetes_names(rendered: Objects) -> None:
    for obj in rendered:  # the schemas do not check names; the API server does
        assert DNS_SUBDOMAIN.fullmatch(obj["metadata"]["name"]), obj["metadata"]["name"]
        assert len(obj["metadata"]["name"]) <= 253
    for pod in pod_specs(rendered):
        for container in containers(pod):
            assert DNS_LABEL.fullmatch(container["name"]), container["name"]
            for ref in container["envFrom"]:
                name = (ref.get("secretRef") or ref["configMapRef"])["name"]
                assert DNS_SUBDOMAIN.fullmatch(name), name
    assert object_name("poll-google_ads") == "headwater-poll-google-ads"


def test_every_pod_runs_as_non_root_on_a_read_only_root(rendered: Objects) -> None:
    for pod in pod_specs(rendered):
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] > 0
        assert pod["automountServiceAccountToken"] is False
        for container in containers(pod):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
            assert container["resources"]["limits"]["memory"]
            assert container["resources"]["requests"]["memory"]


def test_no_secret_value_is_inlined(rendered: Objects) -> None:
    secrets = secret_variable_names()
    assert "HEADWATER_WAREHOUSE__DSN" in secrets
    assert not of_kind(rendered, "Secret"), "Secrets are created by the operator, not here"
    (configmap,) = of_kind(rendered, "ConfigMap").values()
    assert not set(configmap["data"]) & secrets
    assert {k for k in configmap["data"] if k.startswith(ENV_PREFIX)} <= known_variables()
    for pod in pod_specs(rendered):
        for container in containers(pod):
            for variable in container.get("env", []):
                # a secret may come by secretKeyRef, never as a value
                assert variable["name"] not in secrets or "value" not in variable


def secret_refs(container: dict[str, Any]) -> list[str]:
    return [ref["secretRef"]["name"] for ref in container["envFrom"] if "secretRef" in ref]


def test_each_service_gets_the_secrets_of_its_sections_and_no_others(rendered: Objects) -> None:
    for service, sections in topology_secrets().items():
        (container,) = deployment_of(rendered, service)["spec"]["template"]["spec"]["containers"]
        expected = [
            f"headwater-warehouse-{service}" if s == "warehouse" else f"headwater-{s}"
            for s in sections
        ]
        assert secret_refs(container) == [e.replace("_", "-") for e in expected]
    # each sink its own warehouse role (headwater warehouse setup), never the admin's DSN
    for entry in SINKS:
        (container,) = deployment_of(rendered, entry.service)["spec"]["template"]["spec"][
            "containers"
        ]
        assert f"headwater-warehouse-{entry.service}" in secret_refs(container)


def test_setup_jobs_run_the_setup_steps_in_order(rendered: Objects) -> None:
    jobs = of_kind(rendered, "Job")
    cdc = jobs["headwater-cdc-setup"]["spec"]["template"]["spec"]
    steps = [
        SetupStep("source-setup", ("source", "setup")),
        SetupStep("c", ("connectors", "apply")),
    ]
    assert [c["args"] for c in containers(cdc)] == [list(s.args) for s in steps]
    for container in containers(cdc):
        assert secret_refs(container) == ["headwater-source", "headwater-cdc"]
    warehouse = jobs["headwater-warehouse-setup"]["spec"]["template"]["spec"]
    (container,) = warehouse["containers"]
    assert container["args"][:3] == ["warehouse", "setup", "--credentials-file"]
    assert secret_refs(container) == ["headwater-warehouse-admin"]
    claim = {v["name"]: v for v in warehouse["volumes"]}["credentials"]["persistentVolumeClaim"]
    assert claim["claimName"] in of_kind(rendered, "PersistentVolumeClaim")


def test_every_deployment_has_a_disruption_budget(rendered: Objects) -> None:
    budgets = of_kind(rendered, "PodDisruptionBudget")
    for name, deployment in of_kind(rendered, "Deployment").items():
        budget = budgets[name]["spec"]
        assert budget["selector"] == deployment["spec"]["selector"]
        assert budget["maxUnavailable"] == 1  # a node drain never waits forever
    assert set(budgets) == set(of_kind(rendered, "Deployment"))


def test_a_sink_is_given_longer_than_its_flush_to_stop(rendered: Objects) -> None:
    settings = settings_of(rendered)
    flush = sink_flush_s(settings)
    assert flush >= settings.sink.batch_interval_s + settings.warehouse.statement_timeout_s
    for entry in SINKS:
        pod = deployment_of(rendered, entry.service)["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] > flush


def read_partitions(settings: Settings, pattern: str) -> int:
    """The most partitions of the topics a consumer reads (a regex, or one name)."""
    regex = pattern if pattern.startswith("^") else re.escape(pattern)
    counts = [s.partitions for s in processor_topics(settings) if re.fullmatch(regex, s.name)]
    assert counts, f"no topic of the processor matches {pattern}"
    return max(counts)


def test_scaling_is_capped_at_the_partitions_consumed(rendered: Objects) -> None:
    settings = settings_of(rendered)
    scaled = of_kind(rendered, "ScaledObject")
    deployments = of_kind(rendered, "Deployment")
    processor_cap = max(spec.partitions for spec in processor_topics(settings))
    caps = {PROCESSOR: (processor_cap, settings.processor.app_id)}
    for entry in SINKS:
        (topics,) = entry.topics(settings)
        caps[entry.service] = (
            read_partitions(settings, topics),
            sink_group(DEFAULT_GROUP_PREFIX, entry.name),
        )
    assert set(scaled) == {object_name(service) for service in caps}
    for service, (cap, group) in caps.items():
        spec = scaled[object_name(service)]["spec"]
        assert spec["scaleTargetRef"]["name"] in deployments
        assert spec["scaleTargetRef"]["name"] == object_name(service)
        assert spec["maxReplicaCount"] == cap, service
        assert 1 <= spec["minReplicaCount"] <= cap
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "kafka"
        metadata = trigger["metadata"]
        assert metadata["consumerGroup"] == group
        assert metadata["bootstrapServers"] == settings.kafka.bootstrap_servers
        assert metadata["allowIdleConsumers"] == "false"
        assert int(metadata["lagThreshold"]) > 0
        auth = trigger.get("authenticationRef", {}).get("name")
        if settings.kafka.security_protocol.startswith("SASL_"):
            assert auth in of_kind(rendered, "TriggerAuthentication")
        deployment = deployments[object_name(service)]
        assert deployment["spec"]["replicas"] <= cap


def test_keda_reads_the_kafka_login_the_pods_have(rendered: Objects) -> None:
    (configmap,) = of_kind(rendered, "ConfigMap").values()
    for auth in of_kind(rendered, "TriggerAuthentication").values():
        for entry in auth["spec"]["env"]:
            assert entry["parameter"] in {"sasl", "tls", "username", "password"}
            in_secret = entry["name"] in secret_variable_names()
            assert in_secret or entry["name"] in configmap["data"], entry["name"]


def test_prometheus_scrapes_every_service_as_the_alert_rules_expect(rendered: Objects) -> None:
    (monitor,) = of_kind(rendered, "PodMonitor").values()
    selector = monitor["spec"]["selector"]["matchLabels"]
    for deployment in of_kind(rendered, "Deployment").values():
        template = deployment["spec"]["template"]
        assert selector.items() <= template["metadata"]["labels"].items()
        (container,) = template["spec"]["containers"]
        assert container["ports"][0]["name"] == monitor["spec"]["podMetricsEndpoints"][0]["port"]
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    labels = {r["targetLabel"]: r for r in endpoint["relabelings"]}
    assert labels["job"]["replacement"] == "headwater"  # up{job="headwater"} in the rules
    assert labels["service"]["sourceLabels"] == [
        "__meta_kubernetes_pod_label_app_kubernetes_io_component"
    ]


def test_the_prometheus_rule_carries_the_alert_rules_unchanged(rendered: Objects) -> None:
    (rule,) = of_kind(rendered, "PrometheusRule").values()
    groups = yaml.safe_load(RULES.read_text())["groups"]
    assert rule["spec"]["groups"] == groups
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"]]
    assert len(alerts) >= 10
    assert all(r["alert"].startswith("Headwater") and r["expr"] for r in alerts)


def test_the_overlay_patches_image_namespace_and_scale() -> None:
    base, production = (render(k) for k in KUSTOMIZATIONS)
    assert all("namespace" not in o["metadata"] for o in base)
    namespaced = [o for o in production if o["kind"] != "Namespace"]
    assert {o["metadata"]["namespace"] for o in namespaced} == {"headwater"}
    image = deployment_of(production, PROCESSOR)["spec"]["template"]["spec"]["containers"][0]
    assert image["image"] == "registry.example.com/data/headwater:0.1.0"
    assert deployment_of(production, "sink-cdc")["spec"]["replicas"] == 2
    assert settings_of(production).processor.partitions == 6
    assert settings_of(base).processor.partitions == 3


def test_each_pod_environment_loads_as_the_services_load_it(
    rendered: Objects, monkeypatch: pytest.MonkeyPatch
) -> None:
    (configmap,) = of_kind(rendered, "ConfigMap").values()
    for variable in [v for v in os.environ if v.upper().startswith(ENV_PREFIX)]:
        monkeypatch.delenv(variable)
    for name, value in configmap["data"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HEADWATER_KAFKA__SASL_PASSWORD", "stand-in for the Secret")
    for service, offset in port_offsets().items():
        (container,) = deployment_of(rendered, service)["spec"]["template"]["spec"]["containers"]
        for variable in container["env"]:
            monkeypatch.setenv(variable["name"], variable["value"])
        settings = load_settings()  # unknown or malformed settings are refused here
        assert settings.http.port == DEFAULT_BASE_PORT + offset
        assert settings.http.host == "0.0.0.0"
        assert secrets_folder(settings)  # `connectors apply` names the workers' folder
