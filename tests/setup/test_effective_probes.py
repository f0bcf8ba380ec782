"""What PMC makes of the daemons' answers: firewalld's zones (which one takes the peer's
connections over eth2), sshd -T's values. Pure: the text the server printed in, facts out."""

from __future__ import annotations

from pmc.inventory import Role, Server
from pmc.setup.effective import covers, parse_sshd_t, zone_for

MAIN = Server("main", "127.168.1.105", "127.17.59.128", Role.MAIN)
BACKUP = Server("backup", "127.168.1.108", "127.17.59.129", Role.BACKUP)
ADDRESSES = (
    "1: lo    inet 127.0.0.1/32 scope host lo\\       valid_lft forever\n"
    "2: eth3    inet 127.168.1.105/24 scope host eth3\\       valid_lft forever\n"
    "3: eth2@if4    inet 127.17.59.128/24 scope host eth2\\       valid_lft forever\n"
)


def zone(name: str, *, services: str = "", ports: str = "", interfaces: str = "",
         sources: str = "", active: bool = False) -> str:  # fmt: skip
    head = name + (" (active)" if active else "")
    return (
        f"{head}\n  target: default\n  interfaces: {interfaces}\n  sources: {sources}\n"
        f"  services: {services}\n  ports: {ports}\n  rich rules: \n\n"
    )


def script_output(runtime: str, permanent: str, default: str = "public") -> str:
    return f"{default}\n@@runtime\n{runtime}@@permanent\n{permanent}@@addresses\n{ADDRESSES}"


ROCKY_PUBLIC = zone("public", services="cockpit dhcpv6-client ssh", ports="80/tcp 5432/tcp")


def test_eth2_in_no_zone_goes_to_the_default_zone() -> None:
    found = zone_for(script_output(zone("block") + ROCKY_PUBLIC, ROCKY_PUBLIC), MAIN, BACKUP)
    assert found.name == "public"
    assert found.reason == (
        "eth2 (127.17.59.128) is in no zone, so the default zone takes its connections"
    )
    assert found.runtime_ports == ("5432/tcp", "80/tcp")
    assert found.permanent_services == ("cockpit", "dhcpv6-client", "ssh")
    # the default zone firewalld names, not the one the layout expects
    work = zone("work", ports="5432/tcp")
    found = zone_for(script_output(ROCKY_PUBLIC + work, work, default="work"), MAIN, BACKUP)
    assert (found.name, found.runtime_ports) == ("work", ("5432/tcp",))


def test_the_zone_of_the_eth2_interface_wins_over_the_default() -> None:
    internal = zone("internal", services="ssh", interfaces="eth2", active=True)
    found = zone_for(script_output(ROCKY_PUBLIC + internal, ROCKY_PUBLIC), MAIN, BACKUP)
    assert (found.name, found.reason) == ("internal", "eth2 (127.17.59.128) is in it")
    assert found.runtime_ports == () and found.permanent_ports == ()  # not in the permanent
    # a port opened at runtime only, a service kept only in the permanent configuration
    now = zone("internal", services="ssh", ports="5432/tcp", interfaces="eth2", active=True)
    kept = zone("internal", services="ssh postgresql", interfaces="eth2")
    found = zone_for(script_output(ROCKY_PUBLIC + now, ROCKY_PUBLIC + kept), MAIN, BACKUP)
    assert (found.runtime_ports, found.permanent_ports) == (("5432/tcp",), ())
    assert (found.runtime_services, found.permanent_services) == (("ssh",), ("postgresql", "ssh"))


def test_a_zone_with_the_peer_as_source_wins_over_interfaces() -> None:
    trusted = zone("trusted", sources="127.17.59.0/24", active=True)
    internal = zone("internal", interfaces="eth2", active=True)
    found = zone_for(script_output(internal + trusted, trusted), MAIN, BACKUP)
    assert found.name == "trusted"
    assert found.reason == "it lists 127.17.59.0/24 (the peer's 127.17.59.129) as a source"


def test_sshd_t_values_and_listen_addresses() -> None:
    text = (
        "port 22\npermitrootlogin without-password\npubkeyauthentication yes\nx y\n"
        "permitrootlogin yes\n"  # only the first of a keyword counts
    )
    assert parse_sshd_t(text) == {
        "permitrootlogin": "prohibit-password",
        "pubkeyauthentication": "yes",
    }
    assert covers("localhost, 127.17.59.128", "127.17.59.128")
    assert covers("*", "127.17.59.128") and not covers("localhost", "127.17.59.128")
