import re
from pathlib import Path

from headwater.settings import known_variables

DOC = Path(__file__).resolve().parents[3] / "docs" / "credentials.md"


def test_every_variable_the_credentials_guide_names_exists() -> None:
    named = set(re.findall(r"HEADWATER_[A-Z0-9_]+", DOC.read_text()))
    assert len(named) > 15
    assert named - known_variables() == set()


def test_the_guide_ends_with_headwater_check_and_the_readme_links_it() -> None:
    assert "check it: `headwater check`" in DOC.read_text().lower()
    assert "docs/credentials.md" in (DOC.parents[1] / "README.md").read_text()
