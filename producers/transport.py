"""How the pollers reach the APIs: HTTPS verified against a CA bundle, never unverified.

The API clients' sessions verify every server certificate and its host name (never
``verify=False``): against the bundle ``HEADWATER_POLLER__CA_FILE`` names (a corporate proxy's
CA, the stack's own for the sandbox APIs), else requests' default (``REQUESTS_CA_BUNDLE``
when set, else certifi's public CAs). A plain ``http://`` API URL is refused unless
``HEADWATER_POLLER__PLAIN_HTTP`` says this is local development, and then the poller warns
once when it starts.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from pydantic import BaseModel

from headwater.errors import ConfigurationError
from headwater.settings import ENV_PREFIX, NESTED_DELIMITER, PollerSettings, Settings
from headwater.topology import ApiSource

log = logging.getLogger(__name__)

CA_SETTING = "HEADWATER_POLLER__CA_FILE"
PLAIN_HTTP_SETTING = "HEADWATER_POLLER__PLAIN_HTTP"


class _ApiSession(requests.Session):
    """A session whose own CA bundle wins over ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``.

    requests lets those variables replace a session's ``verify`` (psf/requests#3829): the
    configured bundle would be silently ignored wherever they are set. Proxies and the
    rest of the environment still apply.
    """

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None and isinstance(self.verify, str):
            merged["verify"] = self.verify
        return merged


def api_session(settings: PollerSettings) -> requests.Session:
    """A session that verifies servers against the configured CA bundle (or the default:
    ``REQUESTS_CA_BUNDLE`` when set, else certifi's public CAs)."""
    session = _ApiSession()
    if settings.ca_file is not None:
        if not settings.ca_file.is_file():
            raise ConfigurationError(CA_SETTING, f"{settings.ca_file} is not a readable file")
        session.verify = str(settings.ca_file)
    return session


def api_urls(source: ApiSource, settings: Settings) -> dict[str, str]:
    """The source's URL settings (``HEADWATER_FACEBOOK__GRAPH_URL``...), by variable."""
    section_name = source.settings_prefix.removeprefix(ENV_PREFIX).removesuffix(NESTED_DELIMITER)
    section = getattr(settings, section_name.lower(), None)
    if not isinstance(section, BaseModel):
        return {}  # a source whose settings live outside the tree (a plug-in's own)
    return {
        f"{source.settings_prefix}{name.upper()}": str(getattr(section, name))
        for name in type(section).model_fields
        if name.endswith("_url")
    }


def check_transport(source: ApiSource, settings: Settings) -> None:
    """Refuse plain-HTTP API URLs unless local development is declared; then warn once."""
    plain = {
        variable: url
        for variable, url in api_urls(source, settings).items()
        if url.lower().startswith("http://")
    }
    if not plain:
        return
    if not settings.poller.plain_http:
        variable, url = next(iter(plain.items()))
        raise ConfigurationError(
            variable,
            f"{url} is plain HTTP: use https://, or set {PLAIN_HTTP_SETTING}=true "
            "for local development",
        )
    log.warning(
        "polling over plain HTTP: nothing is encrypted or verified (local development only)",
        extra={"source": source.name, "urls": sorted(plain.values())},
    )
