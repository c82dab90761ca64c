import re
from pathlib import Path

import pytest
from dotenv import dotenv_values
from pydantic import BaseModel

from control.settings_reference import env_example
from headwater.settings import ENV_PREFIX, Settings, known_variables

EXAMPLE = Path(__file__).resolve().parents[3] / ".env.example"
VARIABLE_LINE = re.compile(rf"^# ({ENV_PREFIX}[A-Z0-9_]+)=")


def test_committed_env_example_matches_the_settings_model() -> None:
    assert EXAMPLE.read_text() == env_example(), (
        "run: headwater settings --env-example > .env.example"
    )


def test_env_example_names_every_variable_once() -> None:
    named = [m.group(1) for line in env_example().splitlines() if (m := VARIABLE_LINE.match(line))]
    sections = {
        f"{ENV_PREFIX}{name.upper()}"
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    }
    assert sorted(named) == sorted(known_variables() - sections)


def test_env_example_is_not_git_ignored() -> None:
    ignored = (EXAMPLE.parent / ".gitignore").read_text().splitlines()
    assert ".env.example" not in ignored
    assert ".env" in ignored


def test_uncommented_defaults_read_back_as_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every default, uncommented and read as a .env, is itself: the file spells them right."""
    for name in list(__import__("os").environ):
        if name.upper().startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    defaults = Settings()
    lines = [
        line.removeprefix("# ") if VARIABLE_LINE.match(line) else line
        for line in env_example().splitlines()
    ]
    (tmp_path / "example").write_text("\n".join(lines))
    values = {key: value for key, value in dotenv_values(tmp_path / "example").items() if value}
    assert values["POSTGRES_PASSWORD"] == "headwater"
    assert len(values) > 80
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    assert Settings() == defaults
