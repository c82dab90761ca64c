"""Dead letters of the sinks: the original record and why it was refused, on ``dlq.sink``
(published from the warehouse by ``sinks/rejects.py``)."""

from __future__ import annotations

from headwater.dlq import dlq_topic

STAGE = "sink"
DLQ_TOPIC = dlq_topic(STAGE)
