"""One list of report languages (``reports.languages``), checked with one code everywhere."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from kleroterion.errors import KleroError
from kleroterion.workspace import ProcessSettings
from reports.languages import LANGUAGES, check_language
from reports.render import LANGS, LOCALES, formatters, load_strings
from tests.conftest import run_cli


def test_every_language_has_a_locale_and_strings() -> None:
    assert LANGS == LANGUAGES
    assert set(LOCALES) == set(LANGUAGES)
    strings = {lang: set(load_strings(lang)) for lang in LANGUAGES}
    assert all(strings[lang] == strings[LANGUAGES[0]] for lang in LANGUAGES)
    assert sorted(p.name for p in (resources.files("reports") / "locales").iterdir() if p.name.endswith(".toml")) == [
        f"{lang}.toml" for lang in sorted(LANGUAGES)
    ]
    assert formatters("nl")["num"](1234.5, 1) == "1.234,5"  # babel's Dutch grouping and decimal comma
    assert formatters("en")["num"](1234.5, 1) == "1,234.5"


@pytest.mark.parametrize("lang", ["fr", "NL", "", "nl "])
def test_an_unsupported_language_has_one_code(lang: str) -> None:
    with pytest.raises(KleroError) as caught:
        check_language(lang)
    assert caught.value.code == "unsupported_language"
    assert caught.value.params["supported"] == list(LANGUAGES)
    with pytest.raises(KleroError) as settings:
        ProcessSettings.from_mapping({"name": "A", "municipality": "B", "language": lang}, source="process.toml")
    assert settings.value.code == "unsupported_language"
    assert settings.value.message.startswith("process.toml [process] language: ")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_supported_language_passes(lang: str) -> None:
    assert check_language(lang) == lang


def test_klero_init_refuses_an_unsupported_language_with_the_same_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("init", str(tmp_path / "w"), "--name", "A", "--municipality", "B", "--language", "fr")
    assert run_cli(monkeypatch, *args) == 1
    out = capsys.readouterr().out
    assert "--language: Unknown language 'fr'; use nl or en." in " ".join(out.split())
    assert not (tmp_path / "w").exists()
