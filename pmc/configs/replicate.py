"""``/opt/playout/api/config/replicate.conf``: the addresses copy config replicates between.

The file holds one address per line, in order: the server's *own* redundancy (eth2) address
first, then its peer(s). Playout Web Console reads it to run copy config, so the order decides
which server is the primary of a copy: on the backup the manual reverses the two lines.

Traps:

- Every address is checked with :func:`pmc.configs.addresses.parse_address`. The manual's own
  example for the backup contains ``192.168.1.018`` (an octet with a leading zero, which other
  tools read differently): that is reported as an error with its line and column, never read
  as ``.18``. ``192.158.1.105`` is a valid address and is accepted; whether it belongs to the
  cluster is for the inventory to say.
- Lines starting with ``#`` and blank lines are kept as they are (PMC never adds any). Spaces
  or tabs around an address are tolerated and kept; anything else on an address line (a second
  address, a trailing comment) is an error, because Playout reads whole lines.
- The same address twice is an error: copy config would replicate a server onto itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from pmc.configs import lines as L
from pmc.configs.addresses import IPAddress, parse_address
from pmc.errors import InputError

DEFAULT_PATH = "replicate.conf"


class ReplicateConf(L.LineFile):
    """A parsed replicate.conf; edit with :meth:`set_addresses`, write with :meth:`render`."""

    _addresses: tuple[IPAddress, ...]
    _address_rows: tuple[int, ...]

    def _scan(self) -> None:
        addresses: list[IPAddress] = []
        rows: list[int] = []
        seen: dict[IPAddress, int] = {}
        for index, (body, _) in enumerate(self._lines):
            stripped = body.strip()
            if not stripped or stripped.startswith("#"):
                continue
            column = len(body) - len(body.lstrip()) + 1
            where = f"{self.path}:{index + 1}:{column}"
            if len(stripped.split()) > 1:
                raise self.syntax_error(
                    f"line holds more than an address: {stripped!r}",
                    index,
                    column,
                    "Put one address on each line, with nothing else on it.",
                )
            try:
                address = parse_address(stripped, where=where)
            except InputError as exc:
                raise self.syntax_error(exc.what, index, column, exc.hint) from None
            if address in seen:
                raise self.syntax_error(
                    f"the address {address} is listed twice (also on line {seen[address]})",
                    index,
                    column,
                    "List each server once, this server's own address first.",
                )
            seen[address] = index + 1
            addresses.append(address)
            rows.append(index)
        self._addresses = tuple(addresses)
        self._address_rows = tuple(rows)

    @property
    def addresses(self) -> tuple[IPAddress, ...]:
        """The addresses in file order: this server's own first."""
        return self._addresses

    def set_addresses(self, addresses: Iterable[IPAddress | str]) -> bool:
        """Make the file list exactly ``addresses`` in this order; return whether it changed.

        Existing address lines are rewritten in place (comments and blank lines between them
        stay where they are); extra addresses are added after the last address line, surplus
        address lines are removed. Raises :class:`InputError` for a bad or repeated address
        or an empty list, and then changes nothing.
        """
        wanted = [parse_address(a) if isinstance(a, str) else a for a in addresses]
        if not wanted:
            raise InputError(
                "replicate.conf needs at least one address",
                hint="List this server's own redundancy address first, then its peers.",
            )
        if len(set(wanted)) != len(wanted):
            raise InputError(
                "an address is listed twice for replicate.conf",
                hint="List each server once, this server's own address first.",
            )
        if tuple(wanted) == self._addresses:
            return False
        rows = list(self._address_rows)
        for row, address in zip(rows, wanted, strict=False):
            body, ending = self._lines[row]
            old = body.strip()
            if old != str(address):
                lead = body[: len(body) - len(body.lstrip())]
                trail = body[len(body.rstrip()) :]
                self._lines[row] = (f"{lead}{address}{trail}", ending)
        for row in reversed(rows[len(wanted) :]):
            L.remove(self._lines, row)
        at = rows[-1] + 1 if rows else len(self._lines)
        for offset, address in enumerate(wanted[len(rows) :]):
            L.insert(self._lines, at + offset, str(address))
        self._scan()
        return True

    def __repr__(self) -> str:
        listed = ", ".join(map(str, self._addresses))
        return f"ReplicateConf({self.path!r}, [{listed}])"


def parse(text: str, *, path: str = DEFAULT_PATH) -> ReplicateConf:
    """Parse replicate.conf text; raises :class:`ConfigSyntaxError` with line and column."""
    return ReplicateConf(text, path)
