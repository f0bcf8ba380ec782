"""The SSH transport: everything PMC does to a server goes through here.

- :mod:`pmc.remote.connection` — one shared, watched, reconnecting connection per server
- :mod:`pmc.remote.pool` — the connections of all servers, by cluster and server
- :mod:`pmc.remote.host_keys` — PMC's known hosts and the trust decision for new keys
- :mod:`pmc.remote.commands` — commands with streamed output, time limits and real cancel
- :mod:`pmc.remote.files` — reading, atomic writing with backup, restoring, tree transfers
- :mod:`pmc.remote.services` — systemctl, firewall-cmd, log tails, TCP reachability probes
- :mod:`pmc.remote.tunnels` — local port forwarding (psycopg to a server's PostgreSQL)
- :mod:`pmc.remote.errors` — what went wrong, in the operator's words
"""
