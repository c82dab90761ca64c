"""Every HEADWATER_* variable the docs name is a setting (or the secrets folder), so a
renamed setting cannot leave a guide telling people to set a variable nothing reads."""

from __future__ import annotations

import re
from pathlib import Path

from headwater.settings import known_variables

ROOT = Path(__file__).resolve().parents[2]
#: variables read by the test harness, not by Headwater (README, "Tests")
TEST_HARNESS = {"HEADWATER_FAULT_SEED"}
#: a name followed by ``_*`` stands for a family of settings (``HEADWATER_KAFKA__SSL_*``)
_NAME = re.compile(r"HEADWATER_[A-Z0-9_]+(\*?)")


def _documents() -> list[Path]:
    return [
        ROOT / "README.md",
        ROOT / "SECURITY.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "deploy").rglob("*.md")),
    ]


def test_every_variable_the_docs_name_is_a_setting() -> None:
    known = known_variables() | TEST_HARNESS
    unknown = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in _documents()
        for match in _NAME.finditer(path.read_text())
        if not match.group(1) and (name := match.group(0)) not in known
    }
    assert not unknown, sorted(unknown)
    guide = (ROOT / "docs" / "credentials.md").read_text()
    assert "HEADWATER_GOOGLE_ADS__REFRESH_TOKEN" in guide
    assert "`headwater check`" in guide.rsplit("## ", 1)[-1]  # it ends by saying how to check
    assert "docs/credentials.md" in (ROOT / "README.md").read_text()
