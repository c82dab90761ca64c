"""The Google Ads API's wire shapes that the client reads: stream batches, failures, tokens.

Rows (``results``) stay plain JSON objects: they are published verbatim, never remodelled.
Reference: https://developers.google.com/google-ads/api/reference/rpc/v21/GoogleAdsFailure
and https://developers.google.com/google-ads/api/reference/rpc/v21/SearchGoogleAdsStreamResponse
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

GOOGLE_ADS_FAILURE_SUFFIX = ".errors.GoogleAdsFailure"

# google.protobuf.Duration in proto3 JSON is seconds with an "s" suffix: "60s", "1.500s".
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class QuotaErrorDetails(_Wire):
    """Scope, bucket and wait hint of a QuotaError."""

    rate_scope: str | None = Field(default=None, alias="rateScope")
    rate_name: str | None = Field(default=None, alias="rateName")
    retry_delay: str | None = Field(default=None, alias="retryDelay")

    def retry_delay_s(self) -> float | None:
        """The retry delay in seconds, when the API gave one in a form we can read."""
        if self.retry_delay is None:
            return None
        match = _DURATION.match(self.retry_delay)
        return float(match.group(1)) if match else None


class ErrorDetails(_Wire):
    """The optional details of one GoogleAdsError (only the ones we act on)."""

    quota_error_details: QuotaErrorDetails | None = Field(default=None, alias="quotaErrorDetails")
    unpublished_error_code: str | None = Field(default=None, alias="unpublishedErrorCode")


class GoogleAdsError(_Wire):
    """One error of a GoogleAdsFailure: a oneof error code such as ``{"quotaError": ...}``."""

    error_code: dict[str, str] = Field(default_factory=dict, alias="errorCode")
    message: str = ""
    details: ErrorDetails | None = None

    def code(self) -> str:
        """The error code as ``kind.VALUE`` (``quotaError.RESOURCE_EXHAUSTED``)."""
        return ",".join(f"{kind}.{value}" for kind, value in self.error_code.items())


class GoogleAdsFailure(_Wire):
    """The Google Ads error detail carried in a google.rpc.Status."""

    type: str = Field(alias="@type")
    errors: list[GoogleAdsError] = Field(default_factory=list)
    request_id: str | None = Field(default=None, alias="requestId")


class Status(_Wire):
    """A google.rpc.Status: the ``error`` object of an error body or a failed stream element."""

    code: int = 0
    message: str = ""
    status: str = ""
    details: list[dict[str, Any]] = Field(default_factory=list)

    def failures(self) -> list[GoogleAdsFailure]:
        """The GoogleAdsFailure details (other detail types, e.g. ErrorInfo, are skipped)."""
        return [
            GoogleAdsFailure.model_validate(detail)
            for detail in self.details
            if str(detail.get("@type", "")).endswith(GOOGLE_ADS_FAILURE_SUFFIX)
        ]

    def errors(self) -> list[GoogleAdsError]:
        """Every GoogleAdsError in the details."""
        return [error for failure in self.failures() for error in failure.errors]

    def request_id(self) -> str | None:
        """The request id of the failure, for a support ticket."""
        return next((f.request_id for f in self.failures() if f.request_id), None)


class ErrorBody(_Wire):
    """An error response body: ``{"error": Status}``."""

    error: Status


class StreamBatch(_Wire):
    """One element of the searchStream array: rows, the field mask and the request id."""

    results: list[dict[str, Any]] = Field(default_factory=list)
    field_mask: str | None = Field(default=None, alias="fieldMask")
    request_id: str | None = Field(default=None, alias="requestId")


class TokenResponse(_Wire):
    """A successful OAuth 2.0 token response (RFC 6749 section 5.1)."""

    access_token: str
    expires_in: float = 3600.0
    token_type: str | None = None


class OAuthError(_Wire):
    """An OAuth 2.0 error response (RFC 6749 section 5.2), e.g. ``invalid_grant``."""

    error: str
    error_description: str | None = None
