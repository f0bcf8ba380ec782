"""An Include that leads back to a file being read (a drop-in that includes its own folder, a
postgresql.conf that includes itself): the daemon refuses to start ("Too many recursive
configuration includes", "maximum nesting depth exceeded"), and PMC says so at that line
instead of walking the loop to the daemon's depth limit: with three such drop-ins that walk
was 3**16 files and PMC hung."""

from __future__ import annotations

import pytest

from pmc.configs.postgresql_tree import PostgresqlTree
from pmc.configs.sshd_tree import SshdTree
from pmc.errors import ConfigSyntaxError

MAIN = "/etc/ssh/sshd_config"
DROP_INS = "/etc/ssh/sshd_config.d/*.conf"


def test_a_drop_in_that_includes_its_own_folder_is_refused_at_its_line() -> None:
    names = [f"/etc/ssh/sshd_config.d/{n}0-copy.conf" for n in range(1, 4)]
    files = {MAIN: f"Include {DROP_INS}\nPort 22\n"}
    files |= {n: f"# a copy of sshd_config\nInclude {DROP_INS}\nUsePAM yes\n" for n in names}
    tree = SshdTree(MAIN, files, {DROP_INS: tuple(names)})
    for call in (tree.settings, tree.unread):
        with pytest.raises(ConfigSyntaxError) as caught:
            call()
        assert str(caught.value) == (
            "/etc/ssh/sshd_config.d/10-copy.conf:2: this Include reads"
            " /etc/ssh/sshd_config.d/10-copy.conf again, which is already being read (an"
            " include loop); sshd refuses to start with it. Remove this Include line: only"
            f" {MAIN} includes the drop-in folder."
        )


def test_files_included_twice_without_a_loop_are_read_twice() -> None:
    files = {MAIN: "Include common.conf\nInclude common.conf\n", "/etc/ssh/common.conf": "A b\n"}
    tree = SshdTree(MAIN, files, {"/etc/ssh/common.conf": ("/etc/ssh/common.conf",)})
    assert [s.place for s in tree.settings()] == ["/etc/ssh/common.conf:1"] * 2


def test_a_postgresql_conf_that_includes_itself_is_refused_at_its_line() -> None:
    main = "/var/lib/pgsql/data/postgresql.conf"
    files = {
        main: "port = 5432\ninclude 'extra.conf'\n",
        "/var/lib/pgsql/data/extra.conf": "include 'postgresql.conf'\n" * 5,
        "/var/lib/pgsql/data/postgresql.auto.conf": "",
    }
    tree = PostgresqlTree(main, "/var/lib/pgsql/data/postgresql.auto.conf", files, {})
    for call in (tree.assignments, tree.unread):
        with pytest.raises(ConfigSyntaxError) as caught:
            call()
        assert str(caught.value) == (
            "/var/lib/pgsql/data/extra.conf:1: this include reads"
            f" {main} again, which is already being read (an include loop); PostgreSQL"
            " refuses to start with it. Remove this include line."
        )
