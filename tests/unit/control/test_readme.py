from pathlib import Path

from control.settings_reference import BEGIN, END, reference

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_configuration_reference_matches_the_settings_model() -> None:
    text = README.read_text()
    current = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert current == reference(), "run: headwater settings --reference, and paste it in README"


def test_quickstart_has_exactly_the_two_commands() -> None:
    text = README.read_text()
    quickstart = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = quickstart.split("```sh", 1)[1].split("```", 1)[0]
    assert [line for line in block.splitlines() if line.strip()] == ["make demo", "make test"]
