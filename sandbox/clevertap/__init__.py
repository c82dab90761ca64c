"""A faithful local stand-in for the CleverTap Server API's events export."""

from sandbox.clevertap.control import Fault
from sandbox.clevertap.data import EVENT_NAMES, Lateness
from sandbox.clevertap.server import (
    ACCOUNT_ZONE,
    SANDBOX_ACCOUNT_ID,
    SANDBOX_PASSCODE,
    CleverTapSandbox,
    LoggedRequest,
)

__all__ = [
    "ACCOUNT_ZONE",
    "EVENT_NAMES",
    "SANDBOX_ACCOUNT_ID",
    "SANDBOX_PASSCODE",
    "CleverTapSandbox",
    "Fault",
    "Lateness",
    "LoggedRequest",
]
