"""The pollers over HTTPS: the sandbox APIs serve a certificate of a CA of the test's own
(``StackTls``, as the stack makes its own), a poller that trusts that CA lands the records,
and one that trusts another CA is refused at the handshake, once, with a clear error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from control.stack.tls import StackTls
from headwater.raw import raw_topic
from headwater.settings import FacebookSettings, PollerSettings, SandboxSettings, Settings
from headwater.topology import api_source
from producers.base import CertificateRefused
from producers.poller import Poller
from producers.registry import build_source
from sandbox.apis import FACEBOOK_TOKEN, SandboxApis, sandbox_apis
from tests.conftest import wait_for
from tests.support.kafka_io import read_all
from tests.support.sink_positions import topic_ends

TODAY = date(2026, 11, 25)
ACCOUNT = "act_101"
POLLED = "101"  # the account as the poller and the envelopes name it


def requests_made() -> float:
    """Facebook requests counted so far, whatever their endpoint and outcome."""
    (family,) = [f for f in REGISTRY.collect() if f.name == "headwater_poller_api_requests"]
    return sum(
        sample.value
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels["source"] == "facebook_ads"
    )


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> StackTls:
    """A CA and a server certificate for 127.0.0.1, as the stack makes them."""
    made = StackTls(tmp_path_factory.mktemp("tls"))
    made.ensure(("localhost", "127.0.0.1"))
    return made


@pytest.fixture(scope="module")
def apis(tls: StackTls) -> Iterator[SandboxApis]:
    """The sandbox APIs over HTTPS on free ports."""
    served = SandboxSettings(
        facebook_port=0,
        google_ads_port=0,
        clevertap_port=0,
        cert_file=tls.server_cert,
        key_file=tls.server_key,
    )
    with sandbox_apis(served, facebook_accounts=[ACCOUNT]) as started:
        yield started


def poller_settings(settings: Settings, apis: SandboxApis, ca: Path, name: str) -> Settings:
    return settings.model_copy(
        update={
            "facebook": FacebookSettings(
                graph_url=apis.facebook.url,
                access_token=FACEBOOK_TOKEN,
                ad_account_ids=[ACCOUNT],
                lookback_days=2,
            ),
            "poller": PollerSettings(backfill_days=2, state_topic=f"{name}_state", ca_file=ca),
        }
    )


def test_the_sandbox_serves_https_without_declaring_plain_http(apis: SandboxApis) -> None:
    assert apis.facebook.url.startswith("https://127.0.0.1:")
    assert apis.clevertap.url.startswith("https://")
    assert "HEADWATER_POLLER__PLAIN_HTTP" not in apis.environment()


def test_a_poller_trusting_the_ca_lands_the_records(
    settings: Settings, apis: SandboxApis, tls: StackTls, unique_name: str
) -> None:
    config = poller_settings(settings, apis, tls.ca_cert, unique_name)
    poller = Poller(build_source(api_source("facebook_ads"), config), config, today=lambda: TODAY)
    poller.prepare()
    topic = raw_topic("facebook_ads", "insights")
    ends = topic_ends(config, topic)
    report = poller.run_once()
    assert report.ok, report.failures
    assert report.published[POLLED] > 0
    landed = [
        json.loads(message.value() or b"null")
        for message in read_all(
            config, topic, len(ends), start={partition: end for (_, partition), end in ends.items()}
        )
    ]
    ours = [envelope for envelope in landed if envelope["account"] == POLLED]
    assert len(ours) >= report.published[POLLED]


def test_a_poller_trusting_another_ca_is_refused_once_with_a_clear_error(
    settings: Settings, apis: SandboxApis, tmp_path: Path, unique_name: str
) -> None:
    other = StackTls(tmp_path / "other")
    other.ensure()
    config = poller_settings(settings, apis, other.ca_cert, unique_name)
    poller = Poller(build_source(api_source("facebook_ads"), config), config, today=lambda: TODAY)
    calls, refused, made = apis.facebook.calls, apis.facebook.refused_handshakes, requests_made()
    with pytest.raises(CertificateRefused) as raised:
        poller.run_once()
    message = str(raised.value)
    assert "certificate verify failed" in message
    assert apis.facebook.url in message
    assert "HEADWATER_POLLER__CA_FILE" in message
    assert FACEBOOK_TOKEN not in message  # the URL's access_token is redacted
    assert requests_made() == made + 1  # not retried: another CA will not heal
    wait_for(
        lambda: apis.facebook.refused_handshakes > refused,
        timeout_s=10,
        what="the sandbox to see the handshake refused",
    )
    assert apis.facebook.calls == calls  # no request got through
