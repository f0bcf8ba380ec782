"""Hypothesis strategies that write realistic config files, with the dirt real files carry:
comments, blank lines, tabs, CRLF or mixed line endings, a UTF-8 BOM, no final newline."""

from __future__ import annotations

import ipaddress
import json

from hypothesis import strategies as st

# Bytes that are not UTF-8 (a Latin-1 name in a comment), as PMC reads them: surrogate escapes
# (``b"\xf3".decode("utf-8", "surrogateescape") == "\udcf3"``), written back as the same bytes.
NOT_UTF8 = st.integers(0x80, 0xFF).map(lambda b: bytes([b]).decode("utf-8", "surrogateescape"))
COMMENT_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufeff"),
        NOT_UTF8,
    ),
    max_size=30,
)
SPACE = st.sampled_from([" ", "  ", "\t", " \t", "        "])
OPT_SPACE = st.sampled_from(["", " ", "\t", "  "])
IPV4 = st.ip_addresses(v=4).map(str)
IPV6 = st.ip_addresses(v=6).map(str)
ADDRESS = st.one_of(IPV4, IPV4, IPV6)
NETWORKS = st.one_of(
    st.builds(
        lambda a, p: ipaddress.ip_network(f"{a}/{p}", strict=False),
        st.ip_addresses(v=4),
        st.integers(0, 32),
    ),
    st.builds(
        lambda a, p: ipaddress.ip_network(f"{a}/{p}", strict=False),
        st.ip_addresses(v=6),
        st.integers(0, 128),
    ),
)
NAMES = st.sampled_from(["main", "backup", "admin1", "player-2", "master", "spooler", "Ääni"])


def comment() -> st.SearchStrategy[str]:
    return st.builds(lambda lead, text: f"{lead}#{text}", OPT_SPACE, COMMENT_TEXT)


def blank() -> st.SearchStrategy[str]:
    return st.sampled_from(["", " ", "\t", "   "])


@st.composite
def dress(draw: st.DrawFn, bodies: list[str]) -> str:
    """Join line bodies with LF, CRLF or a mix, maybe a BOM, maybe no final newline."""
    style = draw(st.sampled_from(["lf", "crlf", "mixed"]))
    out = []
    for body in bodies:
        if style == "mixed":
            ending = draw(st.sampled_from(["\n", "\r\n"]))
        else:
            ending = "\n" if style == "lf" else "\r\n"
        out.append(body + ending)
    text = "".join(out)
    if text and draw(st.booleans()):
        text = text[: -2 if text.endswith("\r\n") else -1]
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text


@st.composite
def replicate_files(draw: st.DrawFn) -> str:
    addresses = draw(st.lists(ADDRESS, min_size=1, max_size=4, unique=True))
    bodies: list[str] = []
    for address in addresses:
        bodies += draw(st.lists(st.one_of(comment(), blank()), max_size=2))
        bodies.append(draw(OPT_SPACE) + address + draw(OPT_SPACE))
    bodies += draw(st.lists(st.one_of(comment(), blank()), max_size=2))
    return draw(dress(bodies))


PG_PARAMS = [
    "listen_addresses",
    "port",
    "max_connections",
    "unix_socket_group",
    "bonjour",
    "shared_buffers",
    "Log_Line_Prefix",
    "wal_level",
]
PG_VALUES = st.one_of(
    st.integers(0, 65535).map(str),
    st.sampled_from(["on", "off", "128MB", "replica", "-1", "0.5"]),
    st.text(alphabet="abc *,/'\\%", max_size=12).map(
        lambda s: "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"
    ),
)


@st.composite
def pg_assignment(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(PG_PARAMS))
    sep = draw(st.sampled_from([" = ", "=", " ", "\t=\t", "  =  "]))
    line = draw(OPT_SPACE) + name + sep + draw(PG_VALUES)
    if draw(st.booleans()):
        line += draw(SPACE) + "#" + draw(COMMENT_TEXT)
    else:
        line += draw(OPT_SPACE)
    return line


@st.composite
def postgresql_files(draw: st.DrawFn) -> str:
    commented = st.builds(
        lambda n, v, c: f"#{n} = {v}{c}",
        st.sampled_from(PG_PARAMS),
        PG_VALUES,
        st.sampled_from(["", "\t\t# (change requires restart)", "   # default"]),
    )
    include = st.builds(
        lambda k, f: f"{k} '{f}'",
        st.sampled_from(["include", "include_if_exists", "include_dir", "INCLUDE"]),
        st.sampled_from(["conf.d", "extra.conf", "/etc/pg/x y.conf"]),
    )
    line = st.one_of(pg_assignment(), comment(), blank(), commented, include)
    return draw(dress(draw(st.lists(line, max_size=12))))


HBA_TYPES = ["local", "host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc"]


@st.composite
def hba_record(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(HBA_TYPES))
    fields = [
        kind,
        draw(st.sampled_from(["all", "playout", "replication", "db1,db2", '"x y"'])),
        draw(st.sampled_from(["all", "postgres", "+admins", "slony"])),
    ]
    if kind != "local":
        choice = draw(st.sampled_from(["cidr", "mask", "word"]))
        if choice == "cidr":
            fields.append(str(draw(NETWORKS)))
        elif choice == "mask":
            fields += [draw(IPV4), "255.255.255.255"]
        else:
            fields.append(draw(st.sampled_from(["all", "samehost", "samenet", ".example.org"])))
    fields.append(draw(st.sampled_from(["trust", "md5", "scram-sha-256", "reject", "peer"])))
    if draw(st.booleans()):
        fields.append("map=x")
    line = draw(OPT_SPACE) + fields[0]
    for f in fields[1:]:
        line += draw(SPACE) + f
    if draw(st.booleans()):
        line += draw(SPACE) + "#" + draw(COMMENT_TEXT)
    return line


@st.composite
def pg_hba_files(draw: st.DrawFn) -> str:
    header = "# TYPE  DATABASE        USER            ADDRESS                 METHOD"
    line = st.one_of(
        hba_record(), comment(), blank(), st.just(header), st.just("include_if_exists 'more.conf'")
    )
    return draw(dress(draw(st.lists(line, max_size=10))))


SSHD_KEYWORDS = [
    "PermitRootLogin",
    "PasswordAuthentication",
    "X11Forwarding",
    "UsePAM",
    "permitrootlogin",
    "AcceptEnv",
    "Port",
    "Subsystem",
]
SSHD_VALUES = st.sampled_from(
    [
        "yes",
        "no",
        "prohibit-password",
        "22",
        "LANG LC_*",
        "sftp\t/usr/lib/openssh/sftp-server",
        '"quoted value"',
    ]
)


@st.composite
def sshd_line(draw: st.DrawFn, indent: bool = False) -> str:
    lead = draw(SPACE) if indent else draw(st.sampled_from(["", "", " "]))
    sep = draw(st.sampled_from([" ", "\t", "=", " = ", "  "]))
    line = lead + draw(st.sampled_from(SSHD_KEYWORDS)) + sep + draw(SSHD_VALUES)
    if draw(st.integers(0, 4)) == 0:
        line += " # " + draw(COMMENT_TEXT)
    return line


@st.composite
def sshd_files(draw: st.DrawFn) -> str:
    commented = st.builds(lambda k, v: f"#{k} {v}", st.sampled_from(SSHD_KEYWORDS), SSHD_VALUES)
    top = st.one_of(
        sshd_line(), comment(), blank(), commented, st.just("Include /etc/ssh/sshd_config.d/*.conf")
    )
    bodies = draw(st.lists(top, max_size=8))
    for _ in range(draw(st.integers(0, 2))):
        bodies += draw(st.lists(comment(), max_size=1))
        bodies.append(
            draw(
                st.sampled_from(
                    [
                        "Match User anoncvs",
                        "Match all",
                        "Match Address 127.0.0.0/8",
                        "match group x",
                    ]
                )
            )
        )
        bodies += draw(st.lists(st.one_of(sshd_line(indent=True), blank()), max_size=3))
    return draw(dress(bodies))


@st.composite
def spooler_entries(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    addresses = draw(st.lists(ADDRESS, min_size=len(names), max_size=len(names), unique=True))
    types = draw(
        st.lists(st.sampled_from(["master", "spooler"]), min_size=len(names), max_size=len(names))
    )
    return list(zip(names, addresses, types, strict=True))


@st.composite
def spoolers_files(draw: st.DrawFn) -> str:
    entries = draw(spooler_entries())
    colon = draw(st.sampled_from([":", ": ", " : "]))
    comma = draw(st.sampled_from([",", ", ", ",\n    ", ",\r\n\t\t"]))
    pad = draw(st.sampled_from(["", " ", "\n    "]))
    order = draw(st.permutations(["name", "address", "type"]))
    objs = []
    for name, address, kind in entries:
        values = {"name": name, "address": address, "type": kind}
        pairs = [json.dumps(k) + colon + json.dumps(values[k], ensure_ascii=False) for k in order]
        objs.append("{" + pad + comma.join(pairs) + pad.rstrip(" ") + "}")
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    layout = draw(st.sampled_from(["inline", "lines", "tabs"]))
    if layout == "inline":
        text = "[" + draw(st.sampled_from([",", ", "])).join(objs) + "]"
    else:
        indent = "  " if layout == "lines" else "\t"
        text = "[" + newline + ("," + newline).join(indent + o for o in objs) + newline + "]"
    text = draw(OPT_SPACE) + text + draw(st.sampled_from(["", newline, newline * 2, " "]))
    return ("\ufeff" if draw(st.booleans()) else "") + text
