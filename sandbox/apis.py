"""The three SaaS stand-ins together, and the settings that point Headwater at them."""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from types import TracebackType

from headwater.errors import ConfigurationError
from headwater.settings import SandboxSettings
from sandbox.clevertap import SANDBOX_ACCOUNT_ID, SANDBOX_PASSCODE, CleverTapSandbox
from sandbox.facebook_ads.server import FacebookSandbox
from sandbox.google_ads.server import GoogleAdsSandbox
from sandbox.http_server import tls_context

FACEBOOK_ACCOUNTS = ["act_101", "act_102", "act_103"]
GOOGLE_CUSTOMERS = ["1234567890", "2345678901", "3456789012"]
FACEBOOK_TOKEN = "sandbox-token"  # noqa: S105 - the stand-in's own credentials
GOOGLE_CREDENTIALS = {
    "DEVELOPER_TOKEN": "sandbox-developer-token",
    "CLIENT_ID": "sandbox-client.apps.googleusercontent.com",
    "CLIENT_SECRET": "sandbox-client-secret",
    "REFRESH_TOKEN": "sandbox-refresh-token",
}
CLEVERTAP_TIMEZONE = "Asia/Kolkata"  # the stand-in's +05:30 account timezone
#: The poller setting that lets it poll plain-HTTP URLs (``producers/transport.py``).
PLAIN_HTTP = "HEADWATER_POLLER__PLAIN_HTTP"


@dataclass
class SandboxApis:
    """Facebook, Google Ads and CleverTap stand-ins, started and stopped together."""

    facebook: FacebookSandbox
    google_ads: GoogleAdsSandbox
    clevertap: CleverTapSandbox
    facebook_accounts: list[str] = field(default_factory=lambda: list(FACEBOOK_ACCOUNTS))
    google_customers: list[str] = field(default_factory=lambda: list(GOOGLE_CUSTOMERS))
    started: bool = field(default=False)

    def start(self) -> SandboxApis:
        """Serve all three."""
        for server in (self.facebook, self.google_ads, self.clevertap):
            server.start()
        self.started = True
        return self

    def stop(self) -> None:
        """Stop all three."""
        for server in (self.facebook, self.google_ads, self.clevertap):
            server.stop()
        self.started = False

    def __enter__(self) -> SandboxApis:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def restate(self) -> None:
        """The platforms restate their recent days; late CleverTap events arrive."""
        self.facebook.restate()
        self.google_ads.restate()
        self.clevertap.advance()

    def environment(self) -> dict[str, str]:
        """HEADWATER_* settings that point the pollers at the stand-ins."""
        env = {
            "HEADWATER_FACEBOOK__GRAPH_URL": self.facebook.url,
            "HEADWATER_FACEBOOK__ACCESS_TOKEN": FACEBOOK_TOKEN,
            "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS": json.dumps(self.facebook_accounts),
            "HEADWATER_GOOGLE_ADS__API_URL": self.google_ads.url,
            "HEADWATER_GOOGLE_ADS__TOKEN_URL": f"{self.google_ads.url}/token",
            "HEADWATER_GOOGLE_ADS__CUSTOMER_IDS": json.dumps(self.google_customers),
            "HEADWATER_CLEVERTAP__API_URL": self.clevertap.url,
            "HEADWATER_CLEVERTAP__ACCOUNT_ID": self.clevertap.account_id,
            "HEADWATER_CLEVERTAP__PASSCODE": SANDBOX_PASSCODE,
            "HEADWATER_CLEVERTAP__TIMEZONE": CLEVERTAP_TIMEZONE,
        }
        env |= {f"HEADWATER_GOOGLE_ADS__{k}": v for k, v in GOOGLE_CREDENTIALS.items()}
        if self.facebook.scheme == "http":
            env[PLAIN_HTTP] = "true"  # the stand-ins on loopback: local development
        return env


def sandbox_apis(
    settings: SandboxSettings,
    *,
    ads_per_adset: int = 2,
    adsets_per_campaign: int = 2,
    ad_groups_per_campaign: int = 2,
    daily_events: dict[str, int] | None = None,
    facebook_accounts: list[str] | None = None,
    google_customers: list[str] | None = None,
    clevertap_account: str = SANDBOX_ACCOUNT_ID,
) -> SandboxApis:
    """The three stand-ins on the configured ports (0: any free port), not yet started;
    serving HTTPS when the settings give a certificate and its key."""
    apis = SandboxApis(
        facebook=FacebookSandbox(
            settings.seed,
            settings.host,
            settings.facebook_port,
            ads_per_adset=ads_per_adset,
            adsets_per_campaign=adsets_per_campaign,
        ),
        google_ads=GoogleAdsSandbox(
            settings.seed,
            settings.host,
            settings.google_ads_port,
            ad_groups_per_campaign=ad_groups_per_campaign,
        ),
        clevertap=CleverTapSandbox(
            settings.seed,
            settings.host,
            settings.clevertap_port,
            daily_volume=daily_events,
            account_id=clevertap_account,
        ),
        facebook_accounts=facebook_accounts or list(FACEBOOK_ACCOUNTS),
        google_customers=google_customers or list(GOOGLE_CUSTOMERS),
    )
    context = _tls(settings)
    if context is not None:
        for server in (apis.facebook, apis.google_ads, apis.clevertap):
            server.serve_tls(context)
    return apis


def _tls(settings: SandboxSettings) -> ssl.SSLContext | None:
    """The server context of the configured certificate, if any."""
    cert, key = settings.cert_file, settings.key_file
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        missing = "CERT_FILE" if cert is None else "KEY_FILE"
        raise ConfigurationError(
            f"HEADWATER_SANDBOX__{missing}", "is needed too: HTTPS needs a certificate and its key"
        )
    try:
        return tls_context(cert, key)
    except (OSError, ssl.SSLError) as error:
        raise ConfigurationError(
            "HEADWATER_SANDBOX__CERT_FILE", f"cannot serve {cert} with {key}: {error}"
        ) from error
