"""OAuth 2.0 refresh-token flow: an access token for the Google Ads API, cached until it expires.

The token endpoint takes ``grant_type=refresh_token`` with the client id and secret (RFC 6749
section 6; https://developers.google.com/identity/protocols/oauth2/web-server#offline) and
answers ``{"access_token", "expires_in", "token_type"}``. A revoked or expired refresh token is
a 400 ``{"error": "invalid_grant"}`` (RFC 6749 section 5.2): only a person can fix that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import requests
from pydantic import SecretStr, ValidationError

from producers import metrics
from producers.base import (
    ApiUnavailable,
    AuthenticationFailed,
    InvalidRequest,
    RateLimited,
    SourceError,
)
from producers.google_ads.models import OAuthError, TokenResponse
from producers.http import certificate_refused

SETTING_PREFIX = "HEADWATER_GOOGLE_ADS__"

# OAuth error code -> the setting a person has to fix (RFC 6749 section 5.2).
_OAUTH_ERRORS: dict[str, str] = {
    "invalid_grant": "REFRESH_TOKEN",
    "invalid_client": "CLIENT_ID / CLIENT_SECRET",
    "unauthorized_client": "CLIENT_ID",
    "invalid_scope": "REFRESH_TOKEN",
}

# Refresh this long before the token endpoint's expiry (at most a tenth of the lifetime).
REFRESH_MARGIN_S = 60.0


class RefreshTokenCredentials:
    """Access tokens from a refresh token, cached until shortly before ``expires_in``."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        refresh_token: SecretStr,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout_s: float = 30.0,
    ) -> None:
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._session = session or requests.Session()
        self._clock = clock
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._access_token: str | None = None
        self._valid_until = 0.0
        self.refreshes = 0

    def access_token(self) -> str:
        """A valid access token, from the cache or freshly refreshed."""
        with self._lock:
            if self._access_token is None or self._clock() >= self._valid_until:
                self._refresh()
            assert self._access_token is not None
            return self._access_token

    def invalidate(self, rejected: str) -> None:
        """Forget ``rejected`` (the API answered 401 to it) so the next call refreshes."""
        with self._lock:
            if self._access_token == rejected:
                self._access_token = None

    def _refresh(self) -> None:
        with metrics.api_request("google_ads", "oauth_token"):
            self._request_token()

    def _request_token(self) -> None:
        started = self._clock()
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret.get_secret_value(),
            "refresh_token": self._refresh_token.get_secret_value(),
        }
        try:
            response = self._session.post(self._token_url, data=form, timeout=self._timeout_s)
        except requests.exceptions.SSLError as error:
            raise certificate_refused(
                "google_ads: OAuth token endpoint", self._token_url, error
            ) from None
        except requests.RequestException as error:
            raise ApiUnavailable(
                f"google_ads: OAuth token endpoint unreachable: {error}"
            ) from error
        if response.status_code != 200:
            raise _token_error(response)
        try:
            token = TokenResponse.model_validate_json(response.content)
        except ValidationError as error:
            raise ApiUnavailable(
                f"google_ads: OAuth token endpoint answered an unreadable token: {error}"
            ) from error
        margin = min(REFRESH_MARGIN_S, token.expires_in / 10)
        self._access_token = token.access_token
        self._valid_until = started + token.expires_in - margin
        self.refreshes += 1


def _token_error(response: requests.Response) -> SourceError:
    """The typed error of a non-200 token response (never echoing what we sent)."""
    status = response.status_code
    if status == 429:
        return RateLimited(f"google_ads: OAuth token endpoint throttled us (HTTP {status})")
    if status >= 500:
        return ApiUnavailable(f"google_ads: OAuth token endpoint failed (HTTP {status})")
    try:
        oauth = OAuthError.model_validate_json(response.content)
    except ValidationError:
        return InvalidRequest(
            f"google_ads: OAuth token endpoint refused the request (HTTP {status})"
        )
    described = (
        f"{oauth.error}: {oauth.error_description}" if oauth.error_description else oauth.error
    )
    setting = _OAUTH_ERRORS.get(oauth.error)
    if setting is None:
        return InvalidRequest(
            f"google_ads: OAuth token request refused (HTTP {status}, {described})"
        )
    return AuthenticationFailed(
        f"google_ads: OAuth refresh refused ({described}); "
        f"fix {SETTING_PREFIX}{setting.replace(' / ', f' / {SETTING_PREFIX}')}"
    )
