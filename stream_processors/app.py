"""The one Faust app of Headwater: its worker hosts the processor's stages.

Every stage runs in the batch runner (``runner.py``), a service of the Faust worker: the
worker gives it its lifecycle (start, SIGTERM, crash), and the runner consumes, transforms,
delivers and commits in batches on confluent-kafka, which is what makes the processor fast
and keeps every record accounted for. The runner's consumer group is the app id; the Faust
app itself consumes nothing and takes ``<app id>-worker`` as its own id, so the two never
share a group.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import faust

from headwater.kafka.security import ssl_context, warn_if_unencrypted
from headwater.settings import KafkaSettings, Settings
from headwater.topology import API_SOURCES, ApiSource, load
from stream_processors.base import NORMALIZE, Stage, Transform, TransformStage
from stream_processors.cdc import stage as cdc_stage
from stream_processors.faust_metrics import prometheus_monitor
from stream_processors.kpis import stages as kpi_stages
from stream_processors.runner import BatchRunner
from stream_processors.service import BatchService


def normalizer_stages(
    settings: Settings, sources: Iterable[ApiSource] = API_SOURCES
) -> list[Stage]:
    """One stage per API source whose normalizer runs: its raw topics -> its normalized one."""
    stages: list[Stage] = []
    for source in sources:
        if source.normalizer_runs(settings):
            factory: Callable[[Settings], Transform] = load(source.normalizer)
            stages.append(
                TransformStage(
                    f"normalize_{source.name}", NORMALIZE, source.raw_topics, factory(settings)
                )
            )
    return stages


def processor_stages(settings: Settings, sources: Iterable[ApiSource] = API_SOURCES) -> list[Stage]:
    """Every stage the processor runs with these settings: CDC, the APIs, the KPIs."""
    return [
        cdc_stage.stage(settings),
        *normalizer_stages(settings, sources),
        *kpi_stages.stages(settings),
    ]


def broker_credentials(kafka: KafkaSettings) -> faust.types.auth.CredentialsT | None:
    """The Faust (aiokafka) form of the Kafka security settings, TLS verified as elsewhere."""
    warn_if_unencrypted(kafka)
    context = ssl_context(kafka) if kafka.encrypted else None
    if kafka.security_protocol.startswith("SASL_"):
        password = kafka.sasl_password
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=password.get_secret_value() if password is not None else None,
            mechanism=kafka.sasl_mechanism,
            ssl_context=context,
        )
    return faust.SSLCredentials(context) if context is not None else None


def build_app(
    settings: Settings, runner: BatchRunner | None = None
) -> tuple[faust.App, BatchService]:
    """A Faust app configured from the settings, hosting the batch runner of every stage."""
    brokers = [f"kafka://{server}" for server in settings.kafka.bootstrap_servers.split(",")]
    app_id = f"{settings.processor.app_id}-worker"
    app = faust.App(
        app_id,
        datadir=str(Path(tempfile.gettempdir()) / f"{app_id}-data"),  # not the working dir
        broker=brokers,
        broker_credentials=broker_credentials(settings.kafka),
        store="memory://",
        topic_partitions=settings.processor.partitions,
        topic_replication_factor=settings.kafka.replication_factor,
        web_enabled=False,
        # as short as the runner's own group: a killed worker's successor would otherwise wait
        # a minute for the dead member before the runner starts
        broker_session_timeout=settings.kafka.session_timeout_s,
        broker_heartbeat_interval=settings.kafka.session_timeout_s / 5,
    )
    app.monitor = prometheus_monitor()
    service = BatchService(runner or BatchRunner(settings, processor_stages(settings)))
    app.service(service)  # type: ignore[arg-type]  # Faust starts instances as well as classes
    return app, service
