"""The KRaft cluster id handed to Kafka's storage tool."""

from __future__ import annotations

import base64
import uuid
from unittest.mock import patch

from control.stack.kafka import new_cluster_id


def test_an_id_that_would_start_with_a_dash_is_drawn_again() -> None:
    dash = uuid.UUID(bytes=b"\xfb" + bytes(15))  # url-safe base64 of 0xfb... starts with "-"
    assert base64.urlsafe_b64encode(dash.bytes).decode().startswith("-")
    plain = uuid.UUID(int=1)
    with patch("control.stack.kafka.uuid.uuid4", side_effect=[dash, dash, plain]):
        cluster_id = new_cluster_id()
    assert cluster_id == base64.urlsafe_b64encode(plain.bytes).rstrip(b"=").decode()
    assert len(cluster_id) == 22


def test_ids_never_start_with_a_dash() -> None:
    ids = {new_cluster_id() for _ in range(2_000)}
    assert len(ids) == 2_000
    assert not any(cluster_id.startswith("-") for cluster_id in ids)
