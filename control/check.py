"""``headwater check``: a connector-style connection check of every configured part.

Each item (an ad account, a Google Ads customer, the CleverTap account, the source database's
replication prerequisites, Kafka, Connect, the warehouse) is checked with the project's own
clients by the cheapest read-only call, bounded by :data:`BOUND_S`, and becomes one
:class:`Result`: ok, FAIL with what to fix, or skip when it is not configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

import psycopg

from connectors.client import ConnectClient
from headwater.kafka.clients import check_reachable
from headwater.postgres import connect
from headwater.settings import DatabaseSettings, Settings
from headwater.topology import API_SOURCES
from producers.base import Window
from producers.clevertap.client import CleverTapClient
from producers.facebook_ads.client import InsightsClient
from producers.facebook_ads.errors import TOKEN_SETTING
from producers.facebook_ads.source import FacebookAdsSource
from producers.google_ads.auth import RefreshTokenCredentials
from producers.google_ads.client import GoogleAdsClient
from producers.google_ads.source import GoogleAdsSource
from producers.retry import RetryPolicy
from producers.transport import api_session, check_transport
from sinks.offsets import SCHEMA as WAREHOUSE_SCHEMA

#: the longest any one check waits for an answer, in seconds
BOUND_S: Final = 5
#: one attempt: a check reports what it met, it does not wait out an outage
ONCE: Final = RetryPolicy(attempts=1)
#: the Debezium connector class Connect must have installed
DEBEZIUM_POSTGRES: Final = "io.debezium.connector.postgresql.PostgresConnector"

Status = Literal["ok", "FAIL", "skip"]


@dataclass(frozen=True)
class Result:
    """One checked item: its status, its name and what was found (or what to fix)."""

    status: Status
    item: str
    detail: str = ""

    def line(self) -> str:
        """The item as one line of output."""
        shown = "skip (not configured)" if self.status == "skip" else self.status
        return f"{shown:<21} {self.item}" + (f": {self.detail}" if self.detail else "")


def ok(item: str, detail: str = "") -> Result:
    return Result("ok", item, detail)


def fail(item: str, detail: str) -> Result:
    return Result("FAIL", item, detail)


def skipped(item: str, detail: str) -> Result:
    return Result("skip", item, detail)


def _guarded(item: str, check: Callable[[], Result]) -> Result:
    """``check``'s result; any error it raises becomes that item's FAIL line."""
    try:
        return check()
    except Exception as error:  # reported on the item's line: a check never ends in a traceback
        return fail(item, str(error) or type(error).__name__)


def _yesterday() -> Window:
    day = datetime.now(UTC).date() - timedelta(days=1)
    return Window(day, day)


def _api_ready(name: str, settings: Settings) -> None:
    """The source's URLs are https:// (or plain HTTP is declared), as its poller demands."""
    check_transport(next(source for source in API_SOURCES if source.name == name), settings)


def facebook_ads(settings: Settings) -> Iterator[Result]:
    """Each ad account: one day of account-level insights, the smallest read it answers."""
    config = settings.facebook
    if not config.ad_account_ids:
        yield skipped("facebook_ads", "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS is empty")
        return
    if config.access_token is None:
        yield fail("facebook_ads", f"set {TOKEN_SETTING}")
        return

    def source() -> FacebookAdsSource:
        _api_ready("facebook_ads", settings)
        assert config.access_token is not None
        client = InsightsClient(
            config.graph_url,
            config.api_version,
            config.access_token.get_secret_value(),
            session=api_session(settings.poller),
            retry=ONCE,
            timeout_s=BOUND_S,
        )
        return FacebookAdsSource(config, client=client)

    try:
        built = source()
    except Exception as error:  # a setting's refusal, reported as the source's line
        yield fail("facebook_ads", str(error))
        return
    for account in built.accounts():
        item = f"facebook_ads act_{account}"

        def read(account: str = account, item: str = item) -> Result:
            next(built.client.insights(account, _yesterday(), ["impressions"], "account"), None)
            return ok(item)

        yield _guarded(item, read)


def google_ads(settings: Settings) -> Iterator[Result]:
    """The OAuth token exchange, then per customer a one-row search."""
    config = settings.google_ads
    if not config.customer_ids:
        yield skipped("google_ads", "HEADWATER_GOOGLE_ADS__CUSTOMER_IDS is empty")
        return

    def token() -> tuple[GoogleAdsClient, list[str]]:
        _api_ready("google_ads", settings)
        client = GoogleAdsClient(
            config, session=api_session(settings.poller), retry=ONCE, timeout_s=BOUND_S
        )
        assert config.client_id
        assert config.client_secret
        assert config.refresh_token
        client.credentials = RefreshTokenCredentials(
            config.token_url,
            config.client_id,
            config.client_secret,
            config.refresh_token,
            session=client.session,
            timeout_s=BOUND_S,
        )
        # the source refuses a malformed customer id, naming the setting
        customers = GoogleAdsSource(config, client).accounts()
        client.credentials.access_token()
        return client, customers

    try:
        client, customers = token()
    except Exception as error:  # a setting or the token endpoint's refusal, on the oauth line
        yield fail("google_ads oauth", str(error))
        return
    yield ok("google_ads oauth", "refresh token exchanged for an access token")
    for customer in customers:
        item = f"google_ads customer {customer}"

        def search(customer: str = customer, item: str = item) -> Result:
            client.search_stream(customer, "SELECT ad_group.id FROM ad_group LIMIT 1")
            return ok(item)

        yield _guarded(item, search)


def clevertap(settings: Settings) -> Iterator[Result]:
    """The account: the start of a one-day export of its first event (a cursor, no records)."""
    config = settings.clevertap
    item = "clevertap account"
    if not config.account_id and config.passcode is None:
        yield skipped(item, "HEADWATER_CLEVERTAP__ACCOUNT_ID is not set")
        return

    def start() -> Result:
        _api_ready("clevertap", settings)
        client = CleverTapClient.from_settings(
            config, session=api_session(settings.poller), retry=ONCE, timeout_s=BOUND_S
        )
        day = _yesterday().since
        client.start_export(config.events[0], day, day)
        return ok(f"clevertap account {config.account_id}")

    yield _guarded(item, start)


def _bounded(database: DatabaseSettings) -> DatabaseSettings:
    """The database's settings with every wait cut to the bound."""
    bounds = {
        "connect_timeout_s": BOUND_S,
        "statement_timeout_s": BOUND_S,
        "lock_timeout_s": BOUND_S,
    }
    return database.model_copy(update=bounds)


Connection = psycopg.Connection[tuple[object, ...]]


def _database(
    item: str, database: DatabaseSettings, variable: str, check: Callable[[Connection], Result]
) -> Iterator[Result]:
    """``check`` on a bounded connection to ``database``; skip when its DSN is not set."""
    if database.dsn is None:
        yield skipped(item, f"{variable} is not set")
        return
    dsn = database.dsn.get_secret_value()

    def connected() -> Result:
        with connect(dsn, _bounded(database)) as connection:
            return check(connection)

    yield _guarded(item, connected)


def source_database(settings: Settings) -> Iterator[Result]:
    """wal_level=logical, the CDC role with REPLICATION, room for (or the existing) slot."""
    item, cdc = "source database", settings.cdc

    def replication(connection: Connection) -> Result:
        problems = _replication_problems(connection, cdc.user, cdc.slot_name)
        if problems:
            return fail(item, "; ".join(problems))
        return ok(
            item, f"wal_level=logical, role {cdc.user} may replicate, slot {cdc.slot_name} fits"
        )

    return _database(item, settings.source, "HEADWATER_SOURCE__DSN", replication)


def _replication_problems(connection: Connection, role: str, slot: str) -> list[str]:
    problems = []
    wal_level = _one(connection, "SHOW wal_level")
    if wal_level != "logical":
        problems.append(
            f"wal_level is {wal_level}, not logical: set wal_level=logical and restart "
            "(RDS: rds.logical_replication=1 in the parameter group, then reboot)"
        )
    replicates = _one(
        connection,
        "SELECT r.rolreplication OR EXISTS (SELECT 1 FROM pg_auth_members m "
        "JOIN pg_roles g ON g.oid = m.roleid "
        "WHERE m.member = r.oid AND g.rolname = 'rds_replication') "
        "FROM pg_roles r WHERE r.rolname = %s",
        (role,),
    )
    if replicates is None:
        problems.append(
            f"role {role} (HEADWATER_CDC__USER) does not exist: run `headwater source setup`"
        )
    elif replicates is False:
        problems.append(
            f"role {role} (HEADWATER_CDC__USER) lacks REPLICATION: ALTER ROLE {role} "
            f"REPLICATION (RDS: GRANT rds_replication TO {role}), or `headwater source setup`"
        )
    slot_exists = _one(
        connection, "SELECT count(*) > 0 FROM pg_replication_slots WHERE slot_name = %s", (slot,)
    )
    room = _one(
        connection,
        "SELECT count(*) < current_setting('max_replication_slots')::int FROM pg_replication_slots",
    )
    if not slot_exists and not room:
        problems.append(
            "max_replication_slots is used up and slot "
            f"{slot} (HEADWATER_CDC__SLOT_NAME) does not exist: raise it or drop an unused slot"
        )
    return problems


def _one(connection: Connection, query: str, params: tuple[str, ...] = ()) -> object:
    row = connection.execute(query, params).fetchone()
    return None if row is None else row[0]


def kafka(settings: Settings) -> Iterator[Result]:
    """Cluster metadata within the bound."""
    item = "kafka"

    def metadata() -> Result:
        brokers = check_reachable(settings.kafka, timeout_s=BOUND_S)
        return ok(item, f"{brokers} broker(s) at {settings.kafka.bootstrap_servers}")

    yield _guarded(item, metadata)


def connect_cluster(settings: Settings) -> Iterator[Result]:
    """The REST API answers, Debezium's PostgresConnector is installed, the connector's state."""
    item = "connect"

    def plugins() -> Result:
        client = ConnectClient(settings.connect.url, timeout_s=BOUND_S, busy_retries=1)
        if DEBEZIUM_POSTGRES not in client.plugins():
            return fail(
                item,
                f"{settings.connect.url} has no {DEBEZIUM_POSTGRES} plugin: install Debezium's "
                "PostgreSQL connector on every worker's plugin.path",
            )
        name = settings.cdc.connector_name
        state = client.status(name)
        if state is None:
            return ok(item, f"Debezium installed; connector {name} not deployed yet")
        failed = [task for task in state.tasks if task.state == "FAILED"]
        if state.state == "FAILED" or failed:
            return fail(
                item, f"connector {name} FAILED: see `headwater connectors status`, then restart"
            )
        return ok(item, f"connector {name} {state.state}")

    yield _guarded(item, plugins)


def warehouse(settings: Settings) -> Iterator[Result]:
    """A connection, and the right to create in the schema the sinks use."""
    item = "warehouse"

    def create(connection: Connection) -> Result:
        user = _one(connection, "SELECT current_user")
        allowed = _one(
            connection,
            "SELECT CASE WHEN to_regnamespace(%s) IS NULL "
            "THEN has_database_privilege(current_database(), 'CREATE') "
            "ELSE has_schema_privilege(%s, 'CREATE') END",
            (WAREHOUSE_SCHEMA, WAREHOUSE_SCHEMA),
        )
        if not allowed:
            return fail(
                item,
                f"role {user} may not create in schema {WAREHOUSE_SCHEMA}: "
                "use the sink roles of `headwater warehouse setup`",
            )
        return ok(item, f"role {user} may create in schema {WAREHOUSE_SCHEMA}")

    return _database(item, settings.warehouse, "HEADWATER_WAREHOUSE__DSN", create)


#: every item kind, in the order they are checked: ``headwater check KIND`` runs one
CHECKS: Final[dict[str, Callable[[Settings], Iterator[Result]]]] = {
    "facebook_ads": facebook_ads,
    "google_ads": google_ads,
    "clevertap": clevertap,
    "source": source_database,
    "kafka": kafka,
    "connect": connect_cluster,
    "warehouse": warehouse,
}


def run_checks(settings: Settings, kinds: list[str] | None = None) -> Iterator[Result]:
    """The result of every item of ``kinds`` (default: all), in :data:`CHECKS` order."""
    for kind, check in CHECKS.items():
        if kinds is None or kind in kinds:
            yield from check(settings)
