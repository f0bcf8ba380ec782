from __future__ import annotations

import json

import pytest
from hypothesis import given

from pmc.configs import spoolers
from pmc.configs.spoolers import Spooler
from pmc.errors import ConfigSyntaxError, InputError

from .helpers import golden
from .strategies import spooler_entries, spoolers_files

MAIN = Spooler("main", "192.168.1.105", "master")
BACKUP = Spooler("backup", "192.168.1.108", "spooler")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("spoolers-installer.json", [("master", "192.168.1.105", "master")]),
        (
            "spoolers-main.json",
            [("main", "192.168.1.105", "master"), ("backup", "192.168.1.108", "spooler")],
        ),
        (
            "spoolers-backup.json",
            [("backup", "192.168.1.108", "master"), ("main", "192.168.1.105", "spooler")],
        ),
        (
            "spoolers-symmetric.json",
            [("main", "192.168.1.105", "master"), ("backup", "192.168.1.108", "master")],
        ),
    ],
)
def test_seed_files(name: str, expected: list[tuple[str, str, str]]) -> None:
    text = golden(name)
    doc = spoolers.parse(text)
    assert [(s.name, s.address, s.type) for s in doc.servers] == expected
    assert doc.render() == text


def test_installer_file_becomes_the_manuals_file() -> None:
    doc = spoolers.parse(golden("spoolers-installer.json"))
    assert doc.set_servers([MAIN, BACKUP])
    assert doc.render() == golden("spoolers-main.json")


def test_manuals_edits_are_reproduced_exactly() -> None:
    doc = spoolers.parse(golden("spoolers-main.json"))
    doc.set_servers([MAIN, Spooler("backup", "192.168.1.108", "master")])
    assert doc.render() == golden("spoolers-symmetric.json")
    doc.set_servers(
        [Spooler("backup", "192.168.1.108", "master"), Spooler("main", "192.168.1.105", "spooler")]
    )
    assert doc.render() == golden("spoolers-backup.json")


def test_style_is_kept_crlf_bom_inline_spacing() -> None:
    text = '\ufeff[{"name": "a", "address": "10.0.0.1", "type": "master"}, ' + (
        '{"name": "b", "address": "10.0.0.2", "type": "spooler"}]\r\n'
    )
    doc = spoolers.parse(text)
    doc.set_servers([*doc.servers, Spooler("c", "10.0.0.3", "spooler")])
    assert doc.render() == text.replace(
        "]\r\n", ', {"name": "c", "address": "10.0.0.3", "type": "spooler"}]\r\n'
    )


def test_installer_file_with_crlf_grows_with_crlf() -> None:
    doc = spoolers.parse(golden("spoolers-installer.json").replace("\n", "\r\n"))
    doc.set_servers([MAIN, BACKUP])
    assert doc.render() == golden("spoolers-main.json").replace("\n", "\r\n")


SEED_MAIN = golden("spoolers-main.json")


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        # the manual's warning: "you need a comma between the 2 objects"
        (
            SEED_MAIN.replace("},\n", "}\n"),
            2,
            60,
            "missing comma between server entry 1 and server entry 2",
        ),
        (SEED_MAIN.replace('"}\n]', '"},\n]'), 3, 63, "trailing comma after the last server entry"),
        (
            SEED_MAIN.replace('"spooler"', '"slave"'),
            3,
            53,
            'the type of server entry 2 is "slave"; it must be "master" or "spooler"',
        ),
        (
            SEED_MAIN.replace('"backup"', '"main"'),
            3,
            11,
            "server entry 2 has the same name as server entry 1",
        ),
        (
            SEED_MAIN.replace("192.168.1.108", "192.168.1.105"),
            3,
            30,
            "server entry 2 has the same address as server entry 1",
        ),
        (
            SEED_MAIN.replace('"address":"192.168.1.108",', ""),
            3,
            3,
            'server entry 2 has no "address" field',
        ),
        (SEED_MAIN.replace("192.168.1.108", "192.168.1.018"), 3, 30, "leading zero"),
        (
            '{"name":"main","address":"192.168.1.105","type":"master"}',
            1,
            1,
            "must be a list of servers",
        ),
        (
            '[{"name":"main","address":"192.168.1.105","type":"master","port":8081}]',
            1,
            59,
            'unknown field "port"',
        ),
        (
            '[{"name":"main","address":"192.168.1.105" "type":"master"}]',
            1,
            42,
            'missing comma after the field "address"',
        ),
        (
            '[{"name":"main","address":"192.168.1.105","type":"master",}]',
            1,
            58,
            "trailing comma after the last field",
        ),
        ("[{'name':'main'}]", 1, 3, "double quotes"),
        (
            '[{"name":"main","address":"192.168.1.105","type":"master"}',
            1,
            59,
            "ends before the list is closed",
        ),
        ('[{"name":"main","address":192.168.1.105,"type":"master"}]', 1, 27, "unexpected"),
        ('[{"name":"main","address":"192.168.1.105","type":true}]', 1, 50, "not text"),
        ("[]", 1, 1, "empty"),
        ("", 1, 1, "the file is empty"),
        ('\ufeff[{"name":"m","address":"10.0.0.1","type":"master"}] x', 1, 53, "after the end"),
        # before: ValueError (Python reads at most 4300 digits) out of the codec
        ('[{"name":' + "9" * 5000 + "}]", 1, 10, "a number of 5000 digits"),
        # before: read as an unpaired surrogate that no file can hold (UnicodeEncodeError once
        # a bundle's file was adapted to the target)
        ('[{"name":"a\\ud800b","address":"10.0.0.1","type":"master"}]', 1, 10, "\\ud800"),
    ],
)
def test_errors_say_what_and_where(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(ConfigSyntaxError) as caught:
        spoolers.parse(text, path="/opt/playout/api/config/spoolers.json")
    err = caught.value
    assert words in str(err)
    assert (err.line, err.column) == (line, column), str(err)
    assert str(err).startswith(f"/opt/playout/api/config/spoolers.json:{line}:{column}: ")
    assert err.hint


def test_python_json_agrees_on_what_is_broken() -> None:
    """Every file we refuse for syntax, json.loads refuses too (and vice versa for the seed)."""
    for broken in (SEED_MAIN.replace("},\n", "}\n"), SEED_MAIN.replace('"}\n]', '"},\n]')):
        with pytest.raises(json.JSONDecodeError):
            json.loads(broken)
    json.loads(SEED_MAIN)


def test_bad_edits_change_nothing() -> None:
    doc = spoolers.parse(SEED_MAIN)
    with pytest.raises(InputError):
        doc.set_servers([])
    with pytest.raises(InputError, match="same name"):
        doc.set_servers([MAIN, Spooler("main", "192.168.1.108", "spooler")])
    with pytest.raises(InputError, match="same address"):
        doc.set_servers([MAIN, Spooler("b", "192.168.1.105", "spooler")])
    with pytest.raises(InputError, match="leading zero"):
        Spooler("backup", "192.168.1.018", "spooler")
    with pytest.raises(InputError, match="master"):
        Spooler("backup", "192.168.1.108", "slave")  # type: ignore[arg-type]
    assert doc.render() == SEED_MAIN


@given(spoolers_files())
def test_untouched_round_trip(text: str) -> None:
    doc = spoolers.parse(text)
    assert doc.render() == text
    assert json.loads(text.lstrip("\ufeff")) == [
        {"name": s.name, "address": s.address, "type": s.type} for s in doc.servers
    ] or any(":" in s.address for s in doc.servers)


@given(spoolers_files(), spooler_entries())
def test_set_servers_is_idempotent_and_keeps_style(
    text: str, entries: list[tuple[str, str, str]]
) -> None:
    wanted = [Spooler(n, a, t) for n, a, t in entries]  # type: ignore[arg-type]
    doc = spoolers.parse(text)
    doc.set_servers(wanted)
    once = doc.render()
    assert doc.servers == tuple(wanted)
    assert not doc.set_servers(wanted)
    assert doc.render() == once
    again = spoolers.parse(once)
    assert again == doc
    assert not again.set_servers(wanted)
    assert once.startswith("\ufeff") == text.startswith("\ufeff")
    assert ("\r\n" in once) == ("\r\n" in text)
    assert json.loads(once.lstrip("\ufeff"))  # what we write, any JSON reader reads
