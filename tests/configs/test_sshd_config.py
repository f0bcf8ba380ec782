from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmc.configs import sshd_config as sshd
from pmc.errors import ConfigSyntaxError, InputError

from .helpers import changed_lines, golden
from .strategies import SSHD_KEYWORDS, sshd_files

SEED = golden("sshd_config")


def test_permit_root_login_lands_in_the_global_part() -> None:
    doc = sshd.parse(SEED)
    assert doc.render() == SEED
    assert doc.get("PermitRootLogin") is None
    assert doc.set("PermitRootLogin", "yes")
    after = doc.render()
    assert after == SEED.replace(
        "#PermitRootLogin prohibit-password\n",
        "#PermitRootLogin prohibit-password\nPermitRootLogin yes\n",
    )
    assert after.index("PermitRootLogin yes") < after.index("Match User anoncvs")
    assert not doc.set("PermitRootLogin", "yes")


def test_a_keyword_inside_match_is_not_global() -> None:
    text = "UsePAM yes\n# per user\nMatch User anoncvs\n\tPermitRootLogin no\n"
    doc = sshd.parse(text)
    assert doc.get("permitrootlogin") is None  # only inside the Match block
    doc.set("PermitRootLogin", "yes")
    assert doc.render() == (
        "UsePAM yes\nPermitRootLogin yes\n# per user\nMatch User anoncvs\n\tPermitRootLogin no\n"
    )
    assert [d.in_match for d in doc.directives if d.keyword.lower() == "permitrootlogin"] == [
        False,
        True,
    ]


def test_first_value_wins_and_is_the_one_edited() -> None:
    doc = sshd.parse("permitrootlogin=no\nPermitRootLogin yes\n")
    assert doc.get("PermitRootLogin") == "no"
    doc.set("PermitRootLogin", "yes")
    assert doc.render() == "permitrootlogin=yes\nPermitRootLogin yes\n"


def test_no_match_appends_and_keeps_crlf_bom() -> None:
    doc = sshd.parse("\ufeffPort 22\r\nUsePAM yes")
    doc.set("PermitRootLogin", "yes")
    assert doc.render() == "\ufeffPort 22\r\nUsePAM yes\r\nPermitRootLogin yes"


def test_includes_are_listed_and_set_first_writes_before_them() -> None:
    doc = sshd.parse(SEED)
    assert [d.value for d in doc.includes] == ["/etc/ssh/sshd_config.d/*.conf"]
    assert doc.values("acceptenv") == ("LANG LC_*",)
    assert doc.set_first("PermitRootLogin", "prohibit-password")
    first = next(d for d in doc.directives if not d.keyword.startswith("#"))
    assert (first.keyword, first.value) == ("PermitRootLogin", "prohibit-password")
    assert doc.directives[1].keyword == "Include"
    assert not doc.set_first("PermitRootLogin", "prohibit-password")


def test_trailing_comment_is_kept_apart_from_the_value() -> None:
    doc = sshd.parse("X11Forwarding yes   # for the lab\n")
    assert doc.get("X11Forwarding") == "yes"
    doc.set("X11Forwarding", "no")
    assert doc.render() == "X11Forwarding no   # for the lab\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [("Port 22\nPermitRootLogin\n", 2, "has no value"), ("Port 22\n  -bad x\n", 2, "cannot read")],
)
def test_errors(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigSyntaxError, match=words) as caught:
        sshd.parse(text, path="/etc/ssh/sshd_config")
    assert caught.value.line == line


def test_bad_edits() -> None:
    doc = sshd.parse(SEED)
    for keyword, value in (("Match", "all"), ("PermitRootLogin", ""), ("X", "a\nb"), ("2x", "y")):
        with pytest.raises(InputError):
            doc.set(keyword, value)
    assert doc.render() == SEED


@given(sshd_files())
def test_untouched_round_trip(text: str) -> None:
    assert sshd.parse(text).render() == text


@given(sshd_files(), st.sampled_from(SSHD_KEYWORDS), st.sampled_from(["yes", "no", "22 2222"]))
def test_set_is_idempotent_global_and_minimal(text: str, keyword: str, value: str) -> None:
    doc = sshd.parse(text)
    doc.set(keyword, value)
    once = doc.render()
    assert changed_lines(text, once) <= 2
    again = sshd.parse(once)
    assert again == doc
    assert again.get(keyword) == value
    first = next(
        d for d in again.directives if d.keyword.lower() == keyword.lower() and not d.in_match
    )
    match_lines = [d.line for d in again.directives if d.keyword.lower() == "match"]
    assert all(first.line < m for m in match_lines)
    assert not doc.set(keyword, value)
    assert not again.set(keyword, value)
