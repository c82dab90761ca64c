"""A shadow replay and its swap, run by the admin, keep the warehouse roles' least privilege:
the sink's role owns the new live table and still reads and writes its offsets, so it resumes
as its role and lands what came after; the analyst keeps reading it."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import timedelta
from pathlib import Path

from psycopg import sql
from pydantic import SecretStr

from headwater.postgres import connect
from sinks.ads import ads_writer
from sinks.roles import analyst_role, sink_roles
from sinks.runner import SinkRunner
from tests.conftest import wait_for
from tests.support.own_ads_flow import Ad, OwnAdsFlow, now
from tests.support.running import Worker


def test_after_a_swap_the_sinks_role_owns_the_new_table_and_resumes(
    own_ads: OwnAdsFlow, tmp_path: Path
) -> None:
    prefix = f"t{secrets.token_hex(4)}_"
    role, analyst = f"{prefix}sink_ad_performance", analyst_role(prefix)
    group = f"headwater-sink-ad-performance-{uuid.uuid4().hex[:8]}"  # one of its role's groups
    credentials = tmp_path / "roles.json"
    set_up = own_ads.headwater(
        "warehouse", "setup", "--credentials-file", str(credentials), "--role-prefix", prefix
    )
    assert set_up.code == 0, set_up.err
    try:
        dsn = json.loads(credentials.read_text())[role]["dsn"]
        warehouse = own_ads.settings.warehouse.model_copy(update={"dsn": SecretStr(dsn)})
        as_role = own_ads.settings.model_copy(update={"warehouse": warehouse})

        def run_sink() -> Worker[SinkRunner]:
            return Worker(SinkRunner(as_role, ads_writer(as_role), [own_ads.norm], group))

        fetched = now() - timedelta(minutes=5)
        own_ads.produce_norm([own_ads.normalized(Ad(n, f"{n}0.00", fetched)) for n in (1, 2)])
        sink = run_sink()
        try:
            wait_for(lambda: set(own_ads.rows()) == {1, 2}, timeout_s=60, what="ads 1, 2")
            assert sink.error is None
        finally:
            sink.close()

        replay = ("--group-id", group)
        shadow = own_ads.headwater(
            "replay", "sink", "ad-performance", *replay, "--from", "1h", "--into-shadow"
        )
        assert shadow.code == 0, shadow.err
        swapped = own_ads.headwater("replay", "swap", "ad-performance", *replay)
        assert swapped.code == 0, swapped.err

        with connect(own_ads.dsn, autocommit=True) as admin:
            owner, readable = admin.execute(
                "SELECT pg_get_userbyid(relowner), has_table_privilege(%s, oid, 'SELECT') "
                "FROM pg_class WHERE oid = 'public.ad_performance_daily'::regclass",
                (analyst,),
            ).fetchone() or (None, None)
        assert (owner, readable) == (role, True)

        own_ads.produce_norm([own_ads.normalized(Ad(3, "30.00", fetched))])
        resumed = run_sink()  # as its role, from the offsets the swap stored for its group
        try:
            wait_for(lambda: 3 in own_ads.rows(), timeout_s=60, what="ad 3 in the new table")
            assert resumed.error is None
        finally:
            resumed.close()
        assert set(own_ads.rows()) == {1, 2, 3}
    finally:
        with connect(own_ads.dsn, autocommit=True) as admin:
            for name in [r.role for r in sink_roles(own_ads.settings, prefix)] + [analyst]:
                if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
                    each = sql.Identifier(name)
                    admin.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(each))
                    admin.execute(sql.SQL("DROP OWNED BY {}").format(each))
                    admin.execute(sql.SQL("DROP ROLE {}").format(each))
