"""Importing big data files as parts over several SSH connections at once (the other way of
:mod:`pmc.bundle.parts`).

The bundle is still read once, front to back, each member checked against the verified
checksums as it streams. A big member's data goes in :data:`pmc.bundle.parts.PART`-sized
parts to the streams in turn (part ``g`` over stream ``g mod N``); each stream's script
``dd``-s its parts, in the same order, into a file of its own beside the stage folder's other
files (``.pmc-part-ID-N``). The folder's ``tar -x`` meanwhile gets the member's header with no
data, so it creates an empty file with the mode and time the import gives every file; once
every stream has ended well, each part file takes that mode and time and is renamed over it.
Until then nothing is in place: a failure leaves only the stage folder, which the import
removes as always.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from pmc.bundle import parts
from pmc.bundle.archive import CHUNK, Readable
from pmc.bundle.errors import TruncatedBundle
from pmc.remote.commands import run
from pmc.remote.connection import Connection

_WRITE_SCRIPT = r"""
set -u
part=$1; n=$2; k=$3; shift 3
g=0
while [ $# -ge 2 ]; do
  size=$1; f=$2; shift 2
  off=0
  while [ "$off" -lt "$size" ]; do
    if [ $((g % n)) -eq "$k" ]; then
      len=$((size - off)); [ "$len" -gt "$part" ] && len=$part
      dd of="$f" bs=1M iflag=fullblock,count_bytes count="$len" oflag=seek_bytes seek="$off" \
        conv=notrunc status=none || exit 5
    fi
    g=$((g + 1)); off=$((off + part))
  done
done
"""

_PLACE_SCRIPT = r"""
set -e
while [ $# -ge 3 ]; do
  part=$1; f=$2; size=$3; shift 3
  got=$(stat -c %s -- "$part")
  [ "$got" -eq "$size" ] || { echo "pmc: $f has $got of its $size bytes" >&2; exit 3; }
  chmod --reference="$f" -- "$part"
  touch -r "$f" -- "$part"
  mv -f -- "$part" "$f"
done
"""


@dataclass(frozen=True)
class BigMember:
    name: str  # data/<key>/<rel> in the bundle
    size: int
    part_file: str  # where its streams write it, in the stage folder
    final: str  # where tar -x puts its (empty) file, in the stage folder


class PartUploads(parts.Streams):
    """The big data members of an import; :meth:`send` each in the bundle's order."""

    def __init__(self, connection: Connection, members: list[BigMember], streams: int) -> None:
        super().__init__(connection, streams)
        self.members = {m.name: m for m in members}
        self._order = list(members)
        self._part = 0

    @classmethod
    async def plan(
        cls,
        connection: Connection,
        files: dict[str, tuple[int, int]],
        stage: dict[str, str],
        ident: str,
        *,
        streams: int | None = None,
    ) -> PartUploads:
        """The members of ``files`` (``data/…`` → size, time) big enough to go in parts into
        ``stage`` (data folder key → its stage folder on the server)."""
        members: list[BigMember] = []
        for name, (size, _mtime) in files.items():
            top, key, rel = [*name.split("/", 2), "", ""][:3]
            if top == "data" and key in stage and rel and size >= parts.BIG and "\n" not in rel:
                folder = stage[key]
                part_file = f"{folder}/.pmc-part-{ident}-{len(members)}"
                members.append(BigMember(name, size, part_file, f"{folder}/{rel}"))
        total = sum(m.size for m in members)
        if streams is None and members:
            result = await run(connection, ["nproc"], check=False)
            remote = int(result.stdout) if result.stdout.strip().isdigit() else 1
            streams = parts.choose_streams(os.cpu_count() or 1, remote, total)
        if not members or (streams or 1) < 2:
            return cls(connection, [], 1)
        return cls(connection, members, streams or 1)

    async def start(self) -> None:
        if self._order:
            await self.launch(
                _WRITE_SCRIPT, [str(x) for m in self._order for x in (m.size, m.part_file)]
            )

    def takes(self, name: str) -> bool:
        return name in self.members

    def send(self, name: str, source: Readable, on_bytes: Callable[[int], None]) -> None:
        """Blocking: the data of member ``name`` (the next big one), part by part."""
        member = self.members[name]
        if not self._order or self._order[0] != member:
            raise RuntimeError(f"{name} sent out of the bundle's order")
        self._order.pop(0)
        left = member.size
        while left:
            pipe = self.pipe_for(self._part)
            in_part = min(parts.PART, left)
            while in_part:
                chunk = source.read(min(CHUNK, in_part))
                if not chunk:
                    raise TruncatedBundle(
                        f"the bundle ends inside member {name!r}", where=self.connection.label
                    )
                pipe.write(chunk)
                on_bytes(len(chunk))
                in_part -= len(chunk)
                left -= len(chunk)
            self._part += 1

    def finish(self) -> None:
        """Blocking: every stream wrote all its parts."""
        for pipe in self.pipes:
            pipe.close_stdin()
        for pipe in self.pipes:
            pipe.finish()

    async def place(self) -> None:
        """Each part file (checked for its size) takes the mode and time of the file that
        tar made, and its place."""
        if self.members:
            args = [str(x) for m in self.members.values() for x in (m.part_file, m.final, m.size)]
            argv = ["sh", "-c", _PLACE_SCRIPT, "pmc", *args]
            await run(self.connection, argv, root=True, check=True)
