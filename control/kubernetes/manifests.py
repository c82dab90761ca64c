"""The Kubernetes objects of the kustomize base, built from the topology and the settings.

One Deployment per service of :mod:`headwater.topology` (the same services and arguments as
``headwater run``, :mod:`control.pipeline`), each with its PodDisruptionBudget; a KEDA
ScaledObject per Kafka consumer (the processor and the sinks) capped at the partitions of
the topics it reads; the setup Jobs; a PodMonitor and a PrometheusRule carrying
``deploy/prometheus/rules``. The settings (``base/settings.env``, the ConfigMap) decide the
partition counts, the consumer groups and the sinks' longest flush.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from control.pipeline import DEFAULT_BASE_PORT, DEFAULT_GROUP_PREFIX, SetupStep, sink_group
from headwater.settings import ENV_PREFIX, NESTED_DELIMITER, Settings
from headwater.topology import (
    API_SOURCES,
    CDC_MONITOR,
    PROCESSOR,
    SINKS,
    port_offsets,
    secret_sections,
)

Manifest = dict[str, Any]

APP = "headwater"
IMAGE = "headwater"
CONFIGMAP = "headwater-settings"
#: the image's non-root user (the Dockerfile's); any non-root id works with a writable /tmp
USER_ID = 10001
METRICS_PORT = "metrics"
#: where the warehouse setup Job keeps its credentials file (a PersistentVolumeClaim)
CREDENTIALS_DIR = "/var/lib/headwater"
CREDENTIALS_CLAIM = "headwater-warehouse-credentials"


@dataclass(frozen=True)
class Memory:
    """A service's measured peak resident memory and where the figure comes from."""

    peak_mib: float
    source: str

    @property
    def request(self) -> str:
        """The peak rounded up to a multiple of 64 MiB."""
        return f"{math.ceil(self.peak_mib / 64) * 64}Mi"

    @property
    def limit(self) -> str:
        """Twice the request: room for a larger batch or a rebalance's restore."""
        return f"{2 * math.ceil(self.peak_mib / 64) * 64}Mi"


#: Peak RSS (VmHWM) per kind of service, from the benchmarks (deploy/kubernetes/README.md):
#: the largest of each kind, the figures of the 2-core build machine.
MEMORY: Final = {
    "processor": Memory(276.3, "bench/cdc_drain.py: the processor on a 30,000-change backlog"),
    "sink": Memory(147.1, "bench/cdc_drain.py: sink cdc on a 30,000-change backlog"),
    "poller": Memory(118.9, "bench/service_memory.py: poll google_ads, first run (lookback)"),
    "monitor": Memory(91.8, "bench/service_memory.py: connectors monitor"),
    "job": Memory(87.4, "bench/service_memory.py: a one-shot headwater command"),
}

#: CPU requests (no CPU limits: a throttled consumer lags; requests reserve the share the
#: cdc drain benchmark used per service at ~1,750 changes/s: processor 0.7, sink 0.4 cores)
CPU = {"processor": "500m", "sink": "250m", "poller": "100m", "monitor": "50m", "job": "100m"}

#: Seconds a stopping service is given before SIGKILL, beyond a sink's longest flush.
STOP_MARGIN_S = 30
#: Grace of the other services: the processor finishes its batch, whose deliveries it waits
#: up to 60 s for, then flushes up to 10 s more (stream_processors/runner.py), and commits; a
#: poller stops after its current poll run, which may take longer: one cut short is pulled
#: again on the next start (every run re-pulls the lookback window); the monitor just exits.
GRACE_S = {"processor": 60 + 10 + STOP_MARGIN_S, "poller": 60, "monitor": 30}


#: Secrets the settings check against others (SASL needs a password): their values are in the
#: Secrets, so reading a ConfigMap stands in for them.
_SECRET_STAND_INS: Final = {"HEADWATER_KAFKA__SASL_PASSWORD": "in-the-headwater-kafka-secret"}


def settings_from_env(values: Mapping[str, str]) -> Settings:
    """The settings a ConfigMap's ``HEADWATER_*`` values give (the rest at their defaults),
    whatever the caller's own environment holds."""
    sections: dict[str, dict[str, Any]] = {}
    for variable, value in (_SECRET_STAND_INS | dict(values)).items():
        section, _, field = variable.removeprefix(ENV_PREFIX).lower().partition(NESTED_DELIMITER)
        text = value.strip()
        parsed: Any = json.loads(text) if text[:1] in "[{" else text
        sections.setdefault(section, {})[field] = parsed
    fields = Settings.model_fields
    built = {
        name: type(field.default).model_validate(sections.get(name, {}))
        for name, field in fields.items()
        if name in sections
    }
    return Settings.model_construct(**{**{n: f.default for n, f in fields.items()}, **built})


def sink_flush_s(settings: Settings) -> float:
    """The longest a stopping sink can take: its batch interval, then writing that batch
    (bounded by the warehouse's statement timeout) and committing it with its offsets."""
    return settings.sink.batch_interval_s + settings.warehouse.statement_timeout_s


def sink_grace_s(settings: Settings) -> int:
    """terminationGracePeriodSeconds of a sink: its longest flush and a margin."""
    return math.ceil(sink_flush_s(settings)) + STOP_MARGIN_S


def processor_partitions(settings: Settings) -> int:
    """The most partitions of a topic the processor's group reads (cdc.*, raw.*, its own)."""
    return max(
        settings.cdc.topic_partitions,
        settings.kafka.default_partitions,
        settings.processor.partitions,
    )


def secret_name(section: str, service: str) -> str:
    """The Secret holding a settings section's secrets for a service: each sink has its
    warehouse role's DSN (``headwater warehouse setup``); other sections are shared."""
    if section == "warehouse":
        return f"{APP}-warehouse-{service.replace('_', '-')}"
    return f"{APP}-{section.replace('_', '-')}"


@dataclass(frozen=True)
class Service:
    """A long-running service: its name, ``headwater`` arguments and kind."""

    name: str
    args: tuple[str, ...]
    kind: str  # processor | sink | poller | monitor
    #: the consumer group KEDA reads the lag of, and the topic (None: all of the group's)
    group: str | None = None
    topic: str | None = None


def services(settings: Settings) -> list[Service]:
    """Every service of the topology, as ``headwater run`` starts them (all pollers)."""
    found = [
        Service(PROCESSOR, ("process",), "processor", settings.processor.app_id),
    ]
    for entry in SINKS:
        group = sink_group(DEFAULT_GROUP_PREFIX, entry.name)
        topics = entry.topics(settings)
        found.append(
            Service(
                entry.service,
                ("sink", entry.name, "--group-id", group),
                "sink",
                group,
                # a regex (the CDC mirrors) is no topic name: KEDA then sums the group's topics
                topics[0] if len(topics) == 1 and not topics[0].startswith("^") else None,
            )
        )
    found += [Service(s.service, ("poll", s.name), "poller") for s in API_SOURCES]
    found.append(Service(CDC_MONITOR, ("connectors", "monitor"), "monitor"))
    return found


def object_name(service: str) -> str:
    """A service's objects' name: Kubernetes names allow no ``_`` (``poll-google_ads``)."""
    return f"{APP}-{service.replace('_', '-')}"


def _labels(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": APP, "app.kubernetes.io/component": component}


def _resources(kind: str) -> dict[str, Any]:
    memory = MEMORY[kind]
    return {
        "requests": {"cpu": CPU[kind], "memory": memory.request},
        "limits": {"memory": memory.limit},
    }


def _env_from(service: str, sections: tuple[str, ...]) -> list[dict[str, Any]]:
    refs: list[dict[str, Any]] = [{"configMapRef": {"name": CONFIGMAP}}]
    for section in sections:
        ref: dict[str, Any] = {"name": secret_name(section, service)}
        if section == "kafka":  # only a Kafka with SASL or client certificates needs one
            ref["optional"] = True
        refs.append({"secretRef": ref})
    return refs


_POD_SECURITY: Final = {
    "runAsNonRoot": True,
    "runAsUser": USER_ID,
    "runAsGroup": USER_ID,
    "fsGroup": USER_ID,
    "seccompProfile": {"type": "RuntimeDefault"},
}
_CONTAINER_SECURITY: Final = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
#: the only writable place: the processor's Faust data dir and temporary files
_TMP_MOUNT: Final = {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108
_TMP_VOLUME: Final = {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}


def _container(name: str, args: tuple[str, ...], kind: str, env_from: list[Any]) -> Manifest:
    return {
        "name": name,
        "image": IMAGE,
        "args": list(args),
        "envFrom": env_from,
        "resources": _resources(kind),
        "securityContext": _CONTAINER_SECURITY,
        "volumeMounts": [_TMP_MOUNT],
    }


def deployment(service: Service, settings: Settings) -> Manifest:
    """The service's Deployment: probes on its metrics port, secrets by reference."""
    port = DEFAULT_BASE_PORT + port_offsets()[service.name]
    container = _container(
        service.name.replace("_", "-"),
        service.args,
        service.kind,
        _env_from(service.name, secret_sections()[service.name]),
    )
    container["env"] = [{"name": "HEADWATER_HTTP__PORT", "value": str(port)}]
    container["ports"] = [{"name": METRICS_PORT, "containerPort": port, "protocol": "TCP"}]

    def probe(path: str, period_s: int, failures: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": METRICS_PORT},
            "periodSeconds": period_s,
            "timeoutSeconds": 2,
            "failureThreshold": failures,
        }

    # started: the service listens only after Kafka (and its database) answered once
    container["startupProbe"] = probe("/healthz", 5, 36)
    container["livenessProbe"] = probe("/healthz", 10, 3)
    container["readinessProbe"] = probe("/readyz", 10, 3)
    grace = sink_grace_s(settings) if service.kind == "sink" else GRACE_S[service.kind]
    single = service.kind in ("poller", "monitor")  # never two at once
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": object_name(service.name), "labels": _labels(service.name)},
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 3,
            "strategy": {"type": "Recreate"} if single else {"type": "RollingUpdate"},
            "selector": {"matchLabels": _labels(service.name)},
            "template": {
                "metadata": {"labels": _labels(service.name)},
                "spec": {
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": grace,
                    "securityContext": _POD_SECURITY,
                    "containers": [container],
                    "volumes": [_TMP_VOLUME],
                },
            },
        },
    }


def disruption_budget(service: Service) -> Manifest:
    """One pod of the service at a time may be evicted (a drain never waits forever)."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": object_name(service.name), "labels": _labels(service.name)},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": _labels(service.name)}},
    }


def scaled_object(service: Service, settings: Settings) -> Manifest:
    """KEDA scaling on the consumer group's lag, at most one replica per partition."""
    cap = (
        processor_partitions(settings)
        if service.kind == "processor"
        else settings.processor.partitions  # the sinks read norm.* and metrics.* topics
    )
    metadata = {
        "bootstrapServers": settings.kafka.bootstrap_servers,
        "consumerGroup": service.group,
        "lagThreshold": str(settings.sink.batch_size),
        "offsetResetPolicy": "earliest",
        "allowIdleConsumers": "false",
    }
    if service.topic is not None:
        metadata["topic"] = service.topic
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": object_name(service.name), "labels": _labels(service.name)},
        "spec": {
            "scaleTargetRef": {"name": object_name(service.name)},
            "minReplicaCount": 1,
            "maxReplicaCount": cap,
            "pollingInterval": 30,
            "cooldownPeriod": 300,
            "triggers": [{"type": "kafka", "metadata": metadata}],
        },
    }


def _job(name: str, spec: Manifest, volumes: list[Any]) -> Manifest:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": object_name(name), "labels": _labels(name)},
        "spec": {
            "backoffLimit": 6,
            "activeDeadlineSeconds": 1800,
            "template": {
                "metadata": {"labels": _labels(name)},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": _POD_SECURITY,
                    **spec,
                    "volumes": [_TMP_VOLUME, *volumes],
                },
            },
        },
    }


def setup_jobs() -> list[Manifest]:
    """The one-shot steps of ``headwater run`` (source setup, then the connector) and the
    warehouse's roles, whose credentials file is kept on a volume between runs."""
    source = SetupStep("source-setup", ("source", "setup"))
    connectors = SetupStep("connectors-apply", ("connectors", "apply"))
    cdc = _job(
        "cdc-setup",
        {
            "initContainers": [
                _container(source.name, source.args, "job", _env_from("", source.secret_sections))
            ],
            "containers": [
                _container(
                    connectors.name,
                    connectors.args,
                    "job",
                    _env_from("", connectors.secret_sections),
                )
            ],
        },
        [],
    )
    warehouse = _container(
        "warehouse-setup",
        ("warehouse", "setup", "--credentials-file", f"{CREDENTIALS_DIR}/credentials.json"),
        "job",
        _env_from("admin", ("warehouse",)),
    )
    warehouse["volumeMounts"] = [_TMP_MOUNT, {"name": "credentials", "mountPath": CREDENTIALS_DIR}]
    claim = {"name": "credentials", "persistentVolumeClaim": {"claimName": CREDENTIALS_CLAIM}}
    return [
        cdc,
        _job("warehouse-setup", {"containers": [warehouse]}, [claim]),
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": CREDENTIALS_CLAIM, "labels": _labels("warehouse-setup")},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "16Mi"}},
            },
        },
    ]


def monitoring(rules: Mapping[str, Any]) -> list[Manifest]:
    """A PodMonitor giving every series ``job="headwater"`` and the service's name (as the
    native Prometheus does), and the alert rules of ``deploy/prometheus/rules``."""
    return [
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PodMonitor",
            "metadata": {"name": APP, "labels": {"app.kubernetes.io/name": APP}},
            "spec": {
                "selector": {"matchLabels": {"app.kubernetes.io/name": APP}},
                "podMetricsEndpoints": [
                    {
                        "port": METRICS_PORT,
                        "path": "/metrics",
                        "interval": "15s",
                        "relabelings": [
                            {"action": "replace", "targetLabel": "job", "replacement": APP},
                            {
                                "action": "replace",
                                "sourceLabels": [
                                    "__meta_kubernetes_pod_label_app_kubernetes_io_component"
                                ],
                                "targetLabel": "service",
                            },
                        ],
                    }
                ],
            },
        },
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": APP, "labels": {"app.kubernetes.io/name": APP}},
            "spec": {"groups": rules["groups"]},
        },
    ]
