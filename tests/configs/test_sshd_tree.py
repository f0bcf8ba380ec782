"""sshd's Include tree read as sshd reads it: which file and line decide a keyword for a login."""

from __future__ import annotations

import pytest

from pmc.configs.sshd_tree import Login, SshdTree, canonical, glob_matches, match_applies

MAIN = "/etc/ssh/sshd_config"
DROP_INS = "/etc/ssh/sshd_config.d/*.conf"
RHEL_MAIN = """\
# To modify the system-wide sshd configuration, create a  *.conf  file under
#  /etc/ssh/sshd_config.d/  which will be automatically included below
Include /etc/ssh/sshd_config.d/*.conf

#PermitRootLogin prohibit-password
PermitRootLogin yes
Subsystem\tsftp\t/usr/libexec/openssh/sftp-server

Match User anoncvs
\tX11Forwarding no
"""
ROOT = Login("root", "127.17.59.129", "127.17.59.128")


def tree(files: dict[str, str], main: str = RHEL_MAIN) -> SshdTree:
    paths = sorted(files)
    return SshdTree(MAIN, {MAIN: main, **files}, {DROP_INS: tuple(paths)})


def test_a_drop_in_read_first_wins_over_the_main_file() -> None:
    t = tree(
        {
            "/etc/ssh/sshd_config.d/50-redhat.conf": "SyslogFacility AUTHPRIV\nUsePAM yes\n",
            "/etc/ssh/sshd_config.d/10-harden.conf": "# by the admin\nPermitRootLogin no\n",
        }
    )
    found = t.effective("PermitRootLogin", ROOT)
    assert (found.value, found.source) == ("no", "/etc/ssh/sshd_config.d/10-harden.conf:2")
    assert [s.path.rsplit("/", 1)[1] for s in t.settings()][:3] == [
        "10-harden.conf",
        "50-redhat.conf",
        "50-redhat.conf",
    ]


def test_without_any_line_openssh_s_default_applies() -> None:
    found = tree({}, main="Include /etc/ssh/sshd_config.d/*.conf\n").effective(
        "permitrootlogin", ROOT
    )
    assert (found.value, found.setting, found.source) == (
        "prohibit-password",
        None,
        "OpenSSH's default",
    )


def test_a_match_block_for_the_login_beats_every_global_line() -> None:
    main = RHEL_MAIN + "Match User root Address 127.17.59.0/24\n\tPermitRootLogin no\n"
    t = tree({}, main=main)
    found = t.effective("PermitRootLogin", ROOT)
    assert found.value == "no" and found.in_match
    assert found.source == f"{MAIN}:12, in the Match block at line 11"
    other = t.effective("PermitRootLogin", Login("root", "10.1.2.3"))
    assert (other.value, other.source) == ("yes", f"{MAIN}:6")


def test_a_match_block_in_an_included_file_ends_with_that_file() -> None:
    t = tree(
        {
            "/etc/ssh/sshd_config.d/10-x.conf": "Match User nobody\n\tPermitRootLogin no\n",
            "/etc/ssh/sshd_config.d/20-y.conf": "PermitRootLogin forced-commands-only\n",
        },
        main="Include /etc/ssh/sshd_config.d/*.conf\n",
    )
    found = t.effective("PermitRootLogin", ROOT)
    assert (found.value, found.source) == (
        "forced-commands-only",
        "/etc/ssh/sshd_config.d/20-y.conf:1",
    )


def test_an_include_inside_a_match_block_belongs_to_it() -> None:
    main = "Match Address 10.0.0.0/8\n\tInclude extra.conf\n"
    t = SshdTree(MAIN, {MAIN: main, "/etc/ssh/extra.conf": "PermitRootLogin no\n"},
                 {"/etc/ssh/extra.conf": ("/etc/ssh/extra.conf",)})  # fmt: skip
    assert t.effective("PermitRootLogin", ROOT).value == "prohibit-password"
    inside = t.effective("PermitRootLogin", Login("root", "10.9.9.9"))
    assert inside.value == "no" and inside.setting and inside.setting.match
    assert inside.setting.match.place == f"{MAIN}:1"


def test_unread_names_patterns_first_then_files() -> None:
    t = SshdTree(MAIN, {MAIN: RHEL_MAIN}, {})
    assert t.unread() == ([DROP_INS], [])
    t = SshdTree(MAIN, {MAIN: RHEL_MAIN}, {DROP_INS: ("/etc/ssh/sshd_config.d/a.conf",)})
    assert t.unread() == ([], ["/etc/ssh/sshd_config.d/a.conf"])
    t = SshdTree(
        MAIN,
        {MAIN: RHEL_MAIN, "/etc/ssh/sshd_config.d/a.conf": "Include /etc/crypto/x.config\n"},
        {DROP_INS: ("/etc/ssh/sshd_config.d/a.conf",)},
    )
    assert t.unread() == (["/etc/crypto/x.config"], [])


def test_a_new_file_joins_its_glob_in_sshd_s_order() -> None:
    t = tree({"/etc/ssh/sshd_config.d/10-harden.conf": "PermitRootLogin no\n"})
    after = t.replaced("/etc/ssh/sshd_config.d/00-pmc.conf", "PermitRootLogin prohibit-password\n")
    assert after.globs[DROP_INS] == (
        "/etc/ssh/sshd_config.d/00-pmc.conf",
        "/etc/ssh/sshd_config.d/10-harden.conf",
    )
    found = after.effective("PermitRootLogin", ROOT)
    assert (found.value, found.source) == (
        "prohibit-password",
        "/etc/ssh/sshd_config.d/00-pmc.conf:1",
    )
    assert t.effective("PermitRootLogin", ROOT).value == "no"  # the original is unchanged


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        (DROP_INS, "/etc/ssh/sshd_config.d/00-pmc.conf", True),
        (DROP_INS, "/etc/ssh/sshd_config.d/sub/00-pmc.conf", False),
        (DROP_INS, "/etc/ssh/sshd_config.d/.00-pmc.conf", False),
        (DROP_INS, "/etc/ssh/sshd_config.d/00-pmc.txt", False),
        ("/etc/ssh/*/*.conf", "/etc/ssh/d/x.conf", True),
    ],
)
def test_glob_matches_like_glob3(pattern: str, path: str, expected: bool) -> None:
    assert glob_matches(pattern, path) is expected


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ("all", True),
        ("User root", True),
        ("User r*", True),
        ("User admin,root", True),
        ("User *,!root", False),
        ("User operator", False),
        ("Address 127.17.59.0/24", True),
        ("Address 127.17.59.129", True),
        ("Address 127.17.59.*", True),
        ("Address 10.0.0.0/8", False),
        ("Address 127.0.0.0/8,!127.17.59.129/32", False),
        ("Host 127.17.59.129", True),
        ("LocalAddress 127.17.59.128", True),
        ("LocalPort 2222", False),
        ("User root Address 10.0.0.0/8", False),
        ("Group wheel", None),
        ("User root Group wheel", None),
        ("User operator Group wheel", False),
        ("User", None),
    ],
)
def test_match_criteria(criteria: str, expected: bool | None) -> None:
    assert match_applies(criteria, ROOT) is expected


def test_unsure_match_blocks_are_named() -> None:
    main = RHEL_MAIN + "Match Group wheel\n\tPermitRootLogin no\n"
    found = tree({}, main=main).effective("PermitRootLogin", ROOT)
    assert found.value == "yes"
    assert [s.place for s in found.unsure] == [f"{MAIN}:12"]


def test_login_spec_round_trip_and_sshd_t_names() -> None:
    assert ROOT.spec() == (
        "user=root,host=127.17.59.129,addr=127.17.59.129,laddr=127.17.59.128,lport=22"
    )
    assert Login.from_spec(ROOT.spec()) == ROOT
    assert Login("root", "10.0.0.1").spec() == "user=root,host=10.0.0.1,addr=10.0.0.1"
    assert canonical("PermitRootLogin", "without-password") == "prohibit-password"
    assert canonical("PasswordAuthentication", " YES ") == "yes"
