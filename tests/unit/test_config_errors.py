"""An invalid config is one line per problem, named by its place in the file (no pydantic dump, no traceback)."""

from __future__ import annotations

import pytest
from tracker.config import ConfigError, known_account_keys, load_config

GOOD_PERSON = """\
people:
  - id: me
    timezone: Europe/Berlin
"""


def write(tmp_path, text: str):
    path = tmp_path / "config.yml"
    path.write_text(text)
    return path


def test_unknown_zone_is_one_line_naming_its_place(tmp_path):
    path = write(tmp_path, "people:\n  - id: me\n    timezone: Mars/Base\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert raised.value.lines == ["people[0].timezone: unknown IANA zone 'Mars/Base'"]
    assert str(path) in str(raised.value)


def test_every_problem_gets_its_own_line(tmp_path):
    path = write(tmp_path, GOOD_PERSON + "    colour: blue\n    locations:\n      - name: Home\n        latitude: 95\n"
                                         "        longitude: 13\n        timezone: UTC\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert raised.value.lines == [
        "people[0].locations[0].name: String should match pattern '^[a-z0-9_]+$' (got 'Home')",
        "people[0].locations[0].latitude: Input should be less than or equal to 90 (got 95)",
        "people[0].colour: unknown key",
    ]


def test_unknown_account_key_names_the_known_ones(tmp_path):
    path = write(tmp_path, GOOD_PERSON + "    accounts:\n      githb: me\n      lastfm: me\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    (line,) = raised.value.lines
    assert line.startswith("people[0].accounts: unknown key 'githb' (known keys: ")
    for key in ("github", "lastfm", "trakt", "google_health", "netflix_profile"):
        assert key in line


def test_known_account_keys_are_the_catalogues():
    from tracker.sources.catalogue import SOURCES

    assert {s.account for s in SOURCES.values() if s.account} <= set(known_account_keys())
    cfg = load_config()  # the packaged default uses every API source's key
    assert set(cfg.people[0].accounts) <= set(known_account_keys())


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    path = write(tmp_path, "people:\n  - id: me\n    timezone: [Europe/Berlin\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    (line,) = raised.value.lines
    assert line.startswith("line ") and "column" in line


@pytest.mark.parametrize("text", ["", "- me\n"])
def test_not_a_mapping(tmp_path, text):
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text))
    assert raised.value.lines == ["(top level): the config must be a mapping with a `people:` list"]
