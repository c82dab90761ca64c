"""Graph API error answers of the sandbox, shaped as the real API writes them.

See https://developers.facebook.com/docs/graph-api/guides/error-handling (the body) and
https://developers.facebook.com/docs/marketing-api/insights/error-codes (insights codes).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from typing import Any


class GraphApiError(Exception):
    """An error answer: HTTP status and the Graph API's ``error`` object."""

    def __init__(
        self,
        code: int,
        message: str,
        subcode: int | None = None,
        *,
        status: int = 400,
        kind: str = "OAuthException",
        title: str = "",
        user_msg: str = "",
        transient: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.subcode = subcode
        self.message = message
        self.kind = kind
        self.title = title
        self.user_msg = user_msg
        self.transient = transient
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """``{"error": {...}}`` as the Graph API writes it (no subcode key when there is none)."""
        error: dict[str, Any] = {"message": self.message, "type": self.kind, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["is_transient"] = self.transient
        error["error_user_title"] = self.title
        error["error_user_msg"] = self.user_msg
        error["fbtrace_id"] = trace_id()
        return {"error": error}


def trace_id() -> str:
    """An opaque support id, like ``fbtrace_id``."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes[:8]).decode().rstrip("=")


def unknown_object(object_id: str) -> GraphApiError:
    """Code 100, subcode 33: a bad id (the answer for an unknown ad account or report run)."""
    return GraphApiError(
        100,
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read "
        "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        33,
        kind="GraphMethodException",
    )


def invalid(message: str, subcode: int | None = None) -> GraphApiError:
    """Code 100: an invalid parameter."""
    return GraphApiError(100, f"(#100) {message}", subcode)


def missing_token() -> GraphApiError:
    """Code 104: no access token at all."""
    return GraphApiError(104, "An access token is required to request this resource.")


def expired_token() -> GraphApiError:
    """Code 190, subcode 463: the token is not (or no longer) valid."""
    message = (
        "Error validating access token: Session has expired on Monday, 02-Nov-26 "
        "09:00:00 PST. The current time is Tuesday, 03-Nov-26 09:00:00 PST."
    )
    return GraphApiError(
        190,
        message,
        463,
        title="Session expired",
        user_msg="Your session has expired. Please log in again.",
        headers={"WWW-Authenticate": f'OAuth "Facebook Platform" "invalid_token" "{message}"'},
    )


def deprecated_version(latest: str) -> GraphApiError:
    """Code 2635: an API version that is unknown or past its sunset."""
    return GraphApiError(
        2635,
        f"(#2635) You are calling a deprecated version of the Ads API. Please update to the "
        f"latest version: {latest}.",
        title="Deprecated API version",
        user_msg=f"Update to API version {latest}.",
    )


def throttled(code: int, subcode: int) -> GraphApiError:
    """A rate-limit answer (HTTP 400, not 429): 80000-80014, 17, 4, 613 with their subcodes."""
    return GraphApiError(
        code,
        f"(#{code}) There have been too many calls from this ad-account. Wait a bit and try "
        "again. For more info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
        subcode,
        title="Ad Account Has Too Many API Calls",
        user_msg="There have been too many calls from this ad-account. Please wait a bit.",
        transient=True,
    )


def request_timed_out() -> GraphApiError:
    """Code 100, subcode 1504018: a synchronous request asked for too much data."""
    return GraphApiError(
        100,
        "Your request timed out. Try a smaller date range, fetch less data, or use async jobs.",
        1504018,
        title="Request Timed Out",
        user_msg="Try a smaller date range, fetch less data, or use async jobs.",
    )
