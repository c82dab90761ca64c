"""The Google Ads REST wire shapes the sandbox answers with: stream batches and error bodies.

Errors are a google.rpc.Status whose details hold a GoogleAdsFailure
(https://developers.google.com/google-ads/api/reference/rpc/v21/GoogleAdsFailure); the
canonical status and HTTP code follow from the error kind, as on the real API
(https://developers.google.com/google-ads/api/docs/best-practices/understand-api-errors).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

# error kind -> (HTTP code, canonical status, canonical message)
_CANONICAL: dict[str, tuple[int, str, str]] = {
    "authenticationError": (
        401,
        "UNAUTHENTICATED",
        "Request is missing required authentication credential. Expected OAuth 2 access "
        "token, login cookie or other valid authentication credential.",
    ),
    "authorizationError": (403, "PERMISSION_DENIED", "The caller does not have permission"),
    "quotaError": (429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    "internalError": (500, "INTERNAL", "Internal error encountered."),
    "requestError": (400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
    "queryError": (400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
}


# The API's messages for the errors the sandbox raises, by error code.
MESSAGES: dict[str, str] = {
    "OAUTH_TOKEN_INVALID": "OAuth token in the header is not valid.",
    "OAUTH_TOKEN_EXPIRED": "OAuth token in the header has expired.",
    "DEVELOPER_TOKEN_PARAMETER_MISSING": "Developer token parameter is missing.",
    "DEVELOPER_TOKEN_INVALID": "The developer token is not valid.",
    "DEVELOPER_TOKEN_NOT_APPROVED": "The developer token is only approved for use with test "
    "accounts. To access non-test accounts, apply for Basic or Standard access.",
    "USER_PERMISSION_DENIED": "User doesn't have permission to access customer. Note: If "
    "you're accessing a client customer, the manager's customer id must be set in the "
    "'login-customer-id' header. See "
    "https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid",
    "RESOURCE_EXHAUSTED": "Too many requests.",
    "INTERNAL_ERROR": "An internal error has occurred.",
}


class ApiError(Exception):
    """An error response: its HTTP status and JSON body."""

    def __init__(self, http: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {http}")
        self.http = http
        self.body = body


def request_id() -> str:
    """An opaque request id, like the API's."""
    return secrets.token_urlsafe(16)


def unauthenticated() -> ApiError:
    """401 without a GoogleAdsFailure: no credential at all (rejected before Google Ads)."""
    _, status, message = _CANONICAL["authenticationError"]
    return ApiError(401, {"error": {"code": 401, "message": message, "status": status}})


def status_body(http: int, status: str, message: str) -> tuple[int, dict[str, Any]]:
    """A google.rpc.Status error without a GoogleAdsFailure (malformed request, no route)."""
    return http, {"error": {"code": http, "message": message, "status": status}}


def json_object(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object; the API's 400 INVALID_ARGUMENT for anything else."""
    refused = ApiError(*status_body(400, "INVALID_ARGUMENT", "Invalid JSON payload received."))
    try:
        body = json.loads(raw or b"{}")
    except ValueError as error:
        raise refused from error
    if not isinstance(body, dict):
        raise refused
    return body


def failure(
    version: str,
    kind: str,
    code: str,
    message: str | None = None,
    details: dict[str, Any] | None = None,
    trigger: str | None = None,
) -> ApiError:
    """A GoogleAdsFailure with one error, inside the google.rpc.Status of its kind."""
    http, status, canonical = _CANONICAL[kind]
    error: dict[str, Any] = {"errorCode": {kind: code}, "message": message or MESSAGES[code]}
    if trigger is not None:
        error["trigger"] = {"stringValue": trigger}
    if details is not None:
        error["details"] = details
    return ApiError(
        http,
        {
            "error": {
                "code": http,
                "message": canonical,
                "status": status,
                "details": [
                    {
                        "@type": f"type.googleapis.com/google.ads.googleads.{version}"
                        ".errors.GoogleAdsFailure",
                        "errors": [error],
                        "requestId": request_id(),
                    }
                ],
            }
        },
    )


def token_error(http: int, error: str, description: str) -> tuple[int, dict[str, Any]]:
    """An OAuth 2.0 error response (RFC 6749 section 5.2)."""
    return http, {"error": error, "error_description": description}


def batches(results: list[dict[str, Any]], size: int, field_mask: str) -> list[dict[str, Any]]:
    """The searchStream array: up to ``size`` rows per batch, the same requestId in each.

    An empty result is one batch without ``results`` (proto3 JSON omits empty lists); the
    last batch carries ``queryResourceConsumption``
    (https://developers.google.com/google-ads/api/reference/rpc/v21/SearchGoogleAdsStreamResponse).
    """
    rid = request_id()
    chunks = [results[i : i + size] for i in range(0, len(results), size)] or [[]]
    elements: list[dict[str, Any]] = []
    for chunk in chunks:
        element: dict[str, Any] = {"results": chunk} if chunk else {}
        element.update({"fieldMask": field_mask, "requestId": rid})
        elements.append(element)
    elements[-1]["queryResourceConsumption"] = str(max(1, len(results)))
    return elements
