"""The seed's explanation of each redundancy architecture, as the operator reads it in the
cluster dialog and the setup wizard."""

from __future__ import annotations

from pmc.inventory import Architecture

EXPLANATIONS: dict[Architecture, str] = {
    Architecture.MANUAL: (
        "Export the configuration of one server to a file and import it on the other "
        "(Server ▸ Settings ▸ Export… / Import…). Imports need service restarts, possibly on "
        "both servers. Transport Stream outputs are never copied: configure them on each "
        "server."
    ),
    Architecture.WEB_ONE_WAY: (
        "Playout Web Redundancy, main to backup: main's spoolers.json lists main as master "
        "and backup as spooler, and its replicate.conf both addresses. A change made in the "
        "Web Console of main reaches backup at once. A change made on backup stays there."
    ),
    Architecture.WEB_SYMMETRIC: (
        "Playout Web Redundancy both ways: each server lists itself as master and the other "
        "one as spooler (or both as master), so whichever server is edited takes the role of "
        "master and the change reaches the other."
    ),
    Architecture.DATABASE: (
        "1+1 database replication: copy_config.sh on main copies Playout's configuration "
        "tables to backup with Slony over the eth2 link, plus the carousel, av and ts files, "
        "and restarts backup's services. It needs replicate.conf in the right order on each "
        "server, pg_hba entries and listen_addresses for both eth2 addresses, 5432/tcp in the "
        "firewall, root SSH keys exchanged both ways, and check_failover.sh run on backup."
    ),
    Architecture.COMBINED: (
        "Web redundancy and database replication: the usual production choice. Web Console "
        "changes reach both servers at once, and copy config (Monitoring ▸ Cluster status ▸ "
        "Synchronize all servers) brings backup fully in line with main over eth2."
    ),
    Architecture.ADMIN_PLAYER: (
        "A cluster of Admin and Player servers: Players only output what the Admin "
        "configures. PMC checks the connections the vendor's diagram needs between them: "
        "HTTP 80; TCP 22, 2001 and 5555; UDP 161 and 162."
    ),
}
