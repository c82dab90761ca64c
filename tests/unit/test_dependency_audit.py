"""`make lint`'s dependency audit (``.ci/dependency_audit.py``): what fails and what passes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).parents[2] / ".ci" / "dependency_audit.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dependency_audit", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


audit = load()
VULNERABLE = {
    "name": "requests",
    "version": "2.31.0",
    "vulns": [
        {"id": "GHSA-9wx4-h78v-vm56", "fix_versions": ["2.32.0"], "aliases": ["CVE-2024-35195"]}
    ],
}
CLEAN = {"name": "pydantic", "version": "2.50.5", "vulns": []}
SKIPPED = {"name": "headwater-private", "skip_reason": "Dependency not found on PyPI"}


def test_a_known_vulnerability_is_named_with_its_fix() -> None:
    found = audit.verdict({"dependencies": [VULNERABLE, CLEAN, SKIPPED]}, {})
    assert found.vulnerable == ["requests 2.31.0: GHSA-9wx4-h78v-vm56 (fixed in 2.32.0)"]
    assert found.audited == 2
    assert found.skipped == ["Dependency not found on PyPI"]


@pytest.mark.parametrize("listed", ["GHSA-9wx4-h78v-vm56", "CVE-2024-35195"])
def test_an_ignored_advisory_passes_by_its_id_or_an_alias(listed: str) -> None:
    found = audit.verdict({"dependencies": [VULNERABLE]}, {listed: "reviewed: does not apply"})
    assert found.vulnerable == []


def test_unreachable_advisories_fail_only_when_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "run_audit", lambda: (None, "Failed to resolve 'api.osv.dev'"))
    monkeypatch.delenv("AUDIT_STRICT", raising=False)
    assert audit.main() == 0
    monkeypatch.setenv("AUDIT_STRICT", "1")
    assert audit.main() == 1


def test_a_service_that_knows_no_distribution_is_no_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "run_audit", lambda: ({"dependencies": [SKIPPED]}, ""))
    monkeypatch.setenv("AUDIT_STRICT", "1")
    assert audit.main() == 1


def test_a_vulnerability_fails_strict_or_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "run_audit", lambda: ({"dependencies": [VULNERABLE]}, ""))
    monkeypatch.delenv("AUDIT_STRICT", raising=False)
    assert audit.main() == 1


def test_nothing_is_ignored_without_a_reason() -> None:
    assert all(reason.strip() for reason in audit.IGNORED.values())
