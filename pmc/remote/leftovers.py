"""What earlier PMC jobs left on a server after a failure, and clearing it.

A job that could not finish its own clean-up (the connection was cut, PMC was killed) can
leave behind:

- staging folders of an import, ``FOLDER.pmc-stage-ID`` beside each data folder: removed;
- temporary files of an atomic write, ``.NAME.pmc-tmp-XXXXXX`` in the folders PMC writes
  into (the API config, PostgreSQL's, sshd's, root's ``.ssh``): removed;
- the previous data folder of an import that was switched but not finished,
  ``FOLDER.pmc-old-ID``: kept (it may be the only copy of what the folder held before) and
  named, with what to do.

:func:`clear` runs only while the job holds the cluster lock (:mod:`pmc.cluster_lock`), so
no other PMC job can be using them; every line it returns goes into the job's log.
"""

from __future__ import annotations

import posixpath

from pmc.remote import commands
from pmc.remote.connection import Connection

STAGE_MARK = ".pmc-stage-"
OLD_MARK = ".pmc-old-"
TEMP_MARK = ".pmc-tmp-"

# $1: number of data folders, then the data folders, then the folders PMC writes files into.
# One line per finding: "removed|kept <size> <path>".
_SCRIPT = r"""
n=$1; shift
i=0
for d in "$@"; do
  i=$((i+1))
  if [ "$i" -le "$n" ]; then
    for s in "$d".pmc-stage-*; do
      [ -e "$s" ] || continue
      z=$(du -sh -- "$s" 2>/dev/null | cut -f1)
      rm -rf -- "$s" && echo "removed ${z:-?} $s"
    done
    for o in "$d".pmc-old-*; do
      [ -e "$o" ] || continue
      z=$(du -sh -- "$o" 2>/dev/null | cut -f1)
      echo "kept ${z:-?} $o"
    done
  else
    for t in "$d"/.*.pmc-tmp-*; do
      [ -f "$t" ] || continue
      z=$(du -sh -- "$t" 2>/dev/null | cut -f1)
      rm -f -- "$t" && echo "removed ${z:-?} $t"
    done
  fi
done
exit 0
"""


def _folders(connection: Connection) -> tuple[list[str], list[str]]:
    layout = connection.server.layout
    data = list(dict.fromkeys(layout.data_dirs.values()))
    written = [
        layout.api_config_dir,
        posixpath.dirname(layout.spoolers_json),
        posixpath.dirname(layout.replicate_conf),
        layout.db_dir,
        posixpath.dirname(layout.pg_hba_conf),
        posixpath.dirname(layout.postgresql_conf),
        posixpath.dirname(layout.sshd_config),
        layout.root_ssh_dir,
    ]
    return data, list(dict.fromkeys(written))


async def clear(connection: Connection) -> list[str]:
    """Remove what earlier PMC jobs left (see the module docs); the sentences to log."""
    data, written = _folders(connection)
    argv = ["sh", "-c", _SCRIPT, "pmc-leftovers", str(len(data)), *data, *written]
    result = await commands.run(connection, argv, root=True, timeout=600, check=True)
    said = []
    for line in result.stdout.splitlines():
        action, _, rest = line.partition(" ")
        size, _, path = rest.partition(" ")
        if action == "removed":
            said.append(f"removed {path} ({size}), left by an earlier PMC job that failed")
        elif action == "kept":
            said.append(
                f"kept {path} ({size}): the folder as it was before an earlier import that did "
                f"not finish; remove it once the server is checked (rm -rf {path})"
            )
    return said
