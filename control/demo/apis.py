"""The SaaS APIs for the demo: the real ones where credentials are configured, else the
sandbox stand-ins, served in this process."""

from __future__ import annotations

from headwater.errors import ConfigurationError
from headwater.settings import Settings
from headwater.topology import API_SOURCES
from sandbox.apis import PLAIN_HTTP, SandboxApis, sandbox_apis
from sandbox.clevertap import SANDBOX_ACCOUNT_ID


def real_apis(settings: Settings) -> list[str]:
    """The API sources whose real credentials are configured."""
    return [source.name for source in API_SOURCES if source.has_credentials(settings)]


def start_sandbox(settings: Settings) -> tuple[SandboxApis | None, dict[str, str]]:
    """Serve the stand-ins of the sources without credentials; the settings that use them.

    Accounts configured for a sandboxed source (e.g. ``HEADWATER_FACEBOOK__AD_ACCOUNT_IDS``)
    are the accounts its stand-in serves.
    """
    real = real_apis(settings)
    sandboxed = [source for source in API_SOURCES if source.name not in real]
    if not sandboxed:
        return None, {}
    apis = sandbox_apis(
        settings.sandbox,
        facebook_accounts=settings.facebook.ad_account_ids or None,
        google_customers=settings.google_ads.customer_ids or None,
        clevertap_account=settings.clevertap.account_id or SANDBOX_ACCOUNT_ID,
    )
    try:
        apis.start()
    except OSError as error:
        apis.stop()
        raise ConfigurationError(
            "HEADWATER_SANDBOX__FACEBOOK_PORT",
            f"cannot serve the sandbox APIs on {settings.sandbox.host} (ports "
            f"{settings.sandbox.facebook_port}, {settings.sandbox.google_ads_port}, "
            f"{settings.sandbox.clevertap_port}; 0 picks free ones): {error.strerror or error}",
        ) from error
    prefixes = (*(source.settings_prefix for source in sandboxed), PLAIN_HTTP)
    environment = {k: v for k, v in apis.environment().items() if k.startswith(prefixes)}
    return apis, environment
