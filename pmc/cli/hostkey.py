"""``pmc hostkey replace SERVER --fingerprint SHA256:…``: trust a server's new host key.

The one way past a changed-key refusal (as *Server > Host key > Replace…* in the app): the
server must present a key with exactly the fingerprint given, which then becomes the host's one
trusted key; the replacement goes to the audit log (:mod:`pmc.remote.host_key_replace`).
"""

from __future__ import annotations

import argparse

from pmc.cli.common import ExitCode, inventory_path, run
from pmc.cli.connect import make_pool
from pmc.remote.host_key_replace import Replaced, replace_host_key
from pmc.store import Store
from pmc.workspace import Workspace


def register(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="hostkey_command", metavar="ACTION", required=True)
    replace = actions.add_parser(
        "replace",
        help="trust the server's new host key (after it was reinstalled or its keys regenerated)",
        description="Replace the trusted host key of SERVER by the key it presents now, if its "
        "fingerprint is the one given. Read the fingerprint on the server's own console: "
        "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub",
    )
    replace.add_argument("server", metavar="SERVER", help="server name (or cluster/server)")
    replace.add_argument(
        "--fingerprint",
        required=True,
        metavar="SHA256:…",
        help="the new key's fingerprint, as read on the server's console",
    )
    replace.set_defaults(handler=_replace)


def _replace(args: argparse.Namespace) -> int:
    # no --trust-fingerprint here: an unknown key is refused, never asked about
    workspace = Workspace(
        inventory_path(args),
        make_pool=lambda: make_pool(args, interactive=False),
        open_store=Store.open,
    )
    cluster, server = workspace.server(args.server)  # bad input before anything starts

    async def replace() -> Replaced:
        return await replace_host_key(
            workspace.connection(cluster, server), args.fingerprint, store=workspace.store
        )

    print(run(workspace, replace()))
    return ExitCode.OK
