"""How apply tells a connector in its first snapshot from one that should be streaming."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.client import ConnectClient
from connectors.deployment import initial_snapshot_pending
from tests.unit.connectors.conftest import FakeConnect

PATH = "/connectors/cdc/offsets"
PARTITION = {"server": "cdc.app"}


@pytest.mark.parametrize(
    ("reply", "pending"),
    [
        ((200, {"offsets": []}), True),  # nothing committed yet
        (
            (
                200,
                {
                    "offsets": [
                        {
                            "partition": PARTITION,
                            "offset": {
                                "last_snapshot_record": False,
                                "lsn": 402938008,
                                "txId": 43472,
                                "snapshot": "INITIAL",
                                "snapshot_completed": False,
                            },
                        }
                    ]
                },
            ),
            True,
        ),
        (
            (
                200,
                {
                    "offsets": [
                        {
                            "partition": PARTITION,
                            "offset": {"lsn": 32890824, "lsn_commit": 32890824, "txId": 794},
                        }
                    ]
                },
            ),
            False,
        ),
        ((404, {"error_code": 404, "message": "HTTP 404 Not Found"}), True),  # Connect < 3.5
    ],
)
def test_initial_snapshot_pending_reads_the_offsets(
    fake_connect: FakeConnect, reply: tuple[int, Any], pending: bool
) -> None:
    fake_connect.script("GET", PATH, reply)
    assert initial_snapshot_pending(ConnectClient(fake_connect.url), "cdc") is pending
