"""sshd's configuration as sshd reads it: ``sshd_config`` and every file it includes, in order.

A file is not the configuration: RHEL 9 and Rocky begin ``sshd_config`` with
``Include /etc/ssh/sshd_config.d/*.conf``, and a drop-in there (``50-redhat.conf``, or one an
administrator added) can set a keyword before the main file does. :class:`SshdTree` knows
WHICH file and line sets a keyword, and can tell before anything is written whether a value
placed somewhere would take effect (:meth:`SshdTree.replaced` + :meth:`SshdTree.effective`).

How sshd reads its files (``servconf.c``, OpenSSH 8 and 9), and so this module:

- An ``Include`` is read in place, its glob expanded in byte order (``glob(3)`` in the C
  locale); a relative pattern is relative to ``/etc/ssh``. The expansion is done ON THE SERVER
  (:mod:`pmc.setup.observe` hands the results in as ``globs``).
- A ``Match`` block lasts until the next ``Match`` or the end of ITS file: an included file's
  Match block ends with that file, and an ``Include`` inside a Match block makes the included
  lines part of it.
- For most keywords the first global value wins. At connection time the first value inside a
  Match block that matches the connection overrides the global one
  (:meth:`SshdTree.effective`, for the connection copy config makes: root from the peer).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pmc.configs import sshd_config
from pmc.errors import ConfigSyntaxError

SSH_DIR = "/etc/ssh"
MAX_DEPTH = 16  # sshd's own limit on nested Includes
# OpenSSH's built-in values for the keywords PMC reads (sshd_config(5))
DEFAULTS = {"permitrootlogin": "prohibit-password", "pubkeyauthentication": "yes"}
# sshd -T prints the old name of some values
ALIASES = {("permitrootlogin", "without-password"): "prohibit-password"}


def canonical(keyword: str, value: str) -> str:
    """A value as PMC compares it: lower case, old names replaced (``without-password``)."""
    key = keyword.lower()
    text = value.strip().lower()
    return ALIASES.get((key, text), text)


@dataclass(frozen=True)
class Login:
    """The connection whose effective values matter: copy config's ``ssh root@<peer eth2>``."""

    user: str
    address: str  # the client's address (the peer's eth2 address)
    local_address: str | None = None  # the server's own address it connects to
    local_port: int = 22

    @classmethod
    def from_spec(cls, spec: str) -> Login:
        """The login of an ``sshd -T -C`` spec written by :meth:`spec`."""
        fields = dict(part.partition("=")[::2] for part in spec.split(","))
        return cls(
            fields.get("user", "root"),
            fields.get("addr", ""),
            fields.get("laddr") or None,
            int(fields.get("lport") or 22),
        )

    def spec(self) -> str:
        """``sshd -T -C`` connection spec (sshd without UseDNS names a client by address)."""
        parts = [f"user={self.user}", f"host={self.address}", f"addr={self.address}"]
        if self.local_address:
            parts += [f"laddr={self.local_address}", f"lport={self.local_port}"]
        return ",".join(parts)


@dataclass(frozen=True)
class Setting:
    """One ``Keyword value`` line of the tree; ``match`` is the Match line it belongs to."""

    keyword: str
    value: str
    path: str
    line: int
    match: Setting | None = None

    @property
    def place(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class InUse:
    """The value of a keyword for one login, and where it comes from."""

    keyword: str
    value: str  # canonical
    setting: Setting | None  # None: OpenSSH's default
    unsure: tuple[Setting, ...] = ()  # Match blocks PMC cannot evaluate that could override

    @property
    def source(self) -> str:
        if self.setting is None:
            return "OpenSSH's default"
        if self.setting.match is not None:
            return f"{self.setting.place}, in the Match block at line {self.setting.match.line}"
        return self.setting.place

    @property
    def in_match(self) -> bool:
        return self.setting is not None and self.setting.match is not None


def _absolute(pattern: str, ssh_dir: str) -> str:
    return pattern if pattern.startswith("/") else posixpath.join(ssh_dir, pattern)


def glob_matches(pattern: str, path: str) -> bool:
    """Whether glob(3) with ``pattern`` would list ``path`` (``*`` stops at ``/``)."""
    parts, names = pattern.split("/"), path.split("/")
    return len(parts) == len(names) and all(
        fnmatch.fnmatchcase(n, p) and not (n.startswith(".") and not p.startswith("."))
        for p, n in zip(parts, names, strict=True)
    )


class SshdTree:
    """``main`` and its includes. ``files``: path → text (None: does not exist); ``globs``:
    absolute Include pattern → the paths it expanded to on the server, in sshd's order."""

    def __init__(
        self,
        main: str,
        files: Mapping[str, str | None],
        globs: Mapping[str, Sequence[str]],
        ssh_dir: str = SSH_DIR,
    ) -> None:
        self.main = main
        self.files = dict(files)
        self.globs = {k: tuple(v) for k, v in globs.items()}
        self.ssh_dir = ssh_dir
        self._parsed: dict[str, sshd_config.SshdConfig] = {}

    def document(self, path: str) -> sshd_config.SshdConfig | None:
        """The parsed file (ConfigSyntaxError names its line), None when it does not exist."""
        text = self.files.get(path)
        if text is None:
            return None
        if path not in self._parsed:
            self._parsed[path] = sshd_config.parse(text, path=path)
        return self._parsed[path]

    def _walk(
        self,
        path: str,
        match: Setting | None,
        chain: tuple[str, ...],
        out: list[Setting],
        missing: set[str],
    ) -> None:
        """Read ``path`` into ``out``; ``chain``: the files being read that include it."""
        chain = (*chain, path)
        depth = len(chain) - 1
        doc = self.document(path)
        if doc is None:
            missing.add(path)
            return
        current = match
        for d in doc.directives:
            key = d.keyword.lower()
            if key == "match":
                current = Setting(d.keyword, d.value, path, d.line)
                continue
            if key == "include":
                if depth >= MAX_DEPTH:
                    continue
                for pattern in d.value.split():
                    found = self.globs.get(_absolute(pattern, self.ssh_dir))
                    if found is None:
                        missing.add(_absolute(pattern, self.ssh_dir))
                        continue
                    for included in found:
                        if included in chain:
                            raise _loop(path, d.line, included, self.main)
                        self._walk(included, current, chain, out, missing)
                continue
            out.append(Setting(d.keyword, d.value, path, d.line, current))

    def settings(self) -> list[Setting]:
        """Every directive of the tree (Include and Match lines aside), in sshd's order."""
        out: list[Setting] = []
        self._walk(self.main, None, (), out, set())
        return out

    def unread(self) -> tuple[list[str], list[str]]:
        """Include patterns not yet expanded, and files they listed not yet read (observe)."""
        out: list[Setting] = []
        missing: set[str] = set()
        self._walk(self.main, None, (), out, missing)
        listed = {p for paths in self.globs.values() for p in paths}
        missing = {p for p in missing if p not in self.files and p not in self.globs}
        return sorted(missing - listed), sorted(missing & listed)

    def effective(self, keyword: str, login: Login) -> InUse:
        """The value sshd uses for ``keyword`` on ``login``, and the line that sets it."""
        key = keyword.lower()
        settings = [s for s in self.settings() if s.keyword.lower() == key]
        unsure: list[Setting] = []
        for s in settings:
            if s.match is None:
                continue
            applies = match_applies(s.match.value, login)
            if applies is None:
                unsure.append(s)
            elif applies:
                return InUse(keyword, canonical(key, s.value), s, tuple(unsure))
        glob = next((s for s in settings if s.match is None), None)
        if glob is None:
            return InUse(keyword, DEFAULTS.get(key, ""), None, tuple(unsure))
        return InUse(keyword, canonical(key, glob.value), glob, tuple(unsure))

    def replaced(self, path: str, text: str) -> SshdTree:
        """This tree with ``path`` holding ``text`` (a new file joins every glob it matches,
        in sshd's order)."""
        files = {**self.files, path: text}
        globs = dict(self.globs)
        for pattern, paths in globs.items():
            if path not in paths and glob_matches(pattern, path):
                globs[pattern] = tuple(sorted((*paths, path), key=lambda p: p.encode()))
        return SshdTree(self.main, files, globs, self.ssh_dir)


def _loop(path: str, line: int, included: str, main: str) -> ConfigSyntaxError:
    return ConfigSyntaxError(
        f"this Include reads {included} again, which is already being read (an include"
        " loop); sshd refuses to start with it",
        path=path,
        line=line,
        hint="Remove this Include line"
        + ("." if path == main else f": only {main} includes the drop-in folder."),
    )


def _pattern_list(value: str, patterns: str, *, addresses: bool = False) -> bool | None:
    """OpenSSH's pattern lists: comma-separated, ``!`` negates and wins, ``*``/``?`` wildcards;
    for addresses also CIDR networks."""
    positive = False
    for entry in patterns.split(","):
        negated = entry.startswith("!")
        pattern = entry[1:] if negated else entry
        hit: bool | None
        if addresses and "/" in pattern:
            try:
                hit = ipaddress.ip_address(value) in ipaddress.ip_network(pattern, strict=False)
            except ValueError:
                return None
        else:
            hit = fnmatch.fnmatchcase(value.lower(), pattern.lower())
        if hit and negated:
            return False
        positive = positive or (hit and not negated)
    return positive


def match_applies(criteria: str, login: Login) -> bool | None:
    """Whether a ``Match`` line applies to ``login``: True, False, or None where PMC cannot
    tell (Group, RDomain, an unknown criterion: the daemon's own answer decides)."""
    words = criteria.split()
    result: bool | None = True
    index = 0
    while index < len(words):
        name = words[index].lower()
        if name == "all":
            index += 1
            continue
        if index + 1 >= len(words):
            return None
        patterns = words[index + 1]
        index += 2
        applies: bool | None
        if name == "user":
            applies = _pattern_list(login.user, patterns)
        elif name in ("host", "address"):
            applies = _pattern_list(login.address, patterns, addresses=name == "address")
        elif name == "localaddress":
            applies = (
                None
                if login.local_address is None
                else _pattern_list(login.local_address, patterns, addresses=True)
            )
        elif name == "localport":
            applies = _pattern_list(str(login.local_port), patterns)
        else:
            applies = None
        if applies is False:
            return False
        if applies is None:
            result = None
    return result
