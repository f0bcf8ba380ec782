"""The rehearsal lab: simulated Playout servers with real OpenSSH, PostgreSQL and networks.

Linux only, as root (anywhere else :func:`up` raises :class:`~pmc.errors.LabError` naming
what is missing). How the lab is put together: ``pmc/lab/README.md``.

Python API (tests, benchmarks, the demo)::

    from pmc import lab

    cluster = lab.up(servers=2, state="fresh", seed_rows=300, data_mb=0, lab_id=None)
    main = cluster.servers["main"]            # LabServer
    main.management_address                   # "127.168.1.105" (eth3)
    main.redundancy_address                   # "127.17.59.128" (eth2), None for players
    main.root_password                        # in memory only, never in a file
    main.files_root                           # host path of its private tree
    main.path("/opt/playout/api/config")      # host path of a server path
    main.run(["cat", "/etc/hostname"], input=None, check=True)  # as root inside the server
    main.systemctl("restart", "playout-api")  # CompletedProcess, systemd's exit codes
    main.host_key("ed25519")                  # public host key line, for known_hosts
    main.postgres_dsn                         # libpq DSN over its Unix socket, from the host
    main.block(22, "tcp", mode="reject")      # / main.unblock(22, "tcp")
    main.set_root_password()                  # new random root password, returned
    cluster.enter_operator_namespace()        # this thread (and threads started later)
                                              # now sees the lab addresses
    cluster.operator_run(["ssh", ...])        # argv in the operator's namespace
    cluster.down()                            # or lab.down(lab_id)

For PMC's side of a running lab (its inventory, keyring names, trusted host keys) see
:mod:`pmc.lab.inventory`.

``lab_id`` defaults to ``$PMC_LAB_ID``, else ``pmc``; several instances with different ids
run side by side. :func:`attach` rebuilds a :class:`LabCluster` of a running instance (without
passwords); :func:`status` reports it.
"""

from __future__ import annotations

import platform

from pmc.errors import LabError

if platform.system() != "Linux":
    raise LabError(
        "the rehearsal lab runs on Linux only (it needs network namespaces, nftables, OpenSSH"
        " and PostgreSQL as root)",
        hint="Use a Linux machine or VM for the lab; PMC itself works on this computer.",
    )

from pmc.lab.control import LabCluster, attach, check_machine, down, status, up
from pmc.lab.running_server import LabServer

__all__ = ["LabCluster", "LabServer", "attach", "check_machine", "down", "status", "up"]
