"""``headwater stack env`` with a running stack prints settings that reach it."""

from __future__ import annotations

import os
import shlex

import psycopg

from headwater.postgres import verified
from headwater.settings import Settings
from tests.support.services import headwater


def test_stack_env_of_a_running_stack_prints_settings_that_reach_it(settings: Settings) -> None:
    env = dict(os.environ) | {"HEADWATER_STACK__STATE_DIR": str(settings.stack.state_dir)}
    done = headwater("stack", "env", env=env, timeout=60)

    assert done.returncode == 0, done.stderr
    exports = dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1)
        for line in done.stdout.splitlines()
    )
    assert {"HEADWATER_KAFKA__BOOTSTRAP_SERVERS", "HEADWATER_CONNECT__URL"} <= exports.keys()
    with psycopg.connect(verified(exports["HEADWATER_WAREHOUSE__DSN"]), connect_timeout=10) as db:
        assert db.execute("SELECT current_database()").fetchone() == ("warehouse",)
