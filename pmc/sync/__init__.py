"""Keeping a cluster's servers in sync: "Synchronize all servers".

- :mod:`pmc.sync.copy_output` — reading copy_config.sh's output (stages, the seed's failures)
- :mod:`pmc.sync.copy_config` — the Playout engine: copy_config.sh with remediation plans
- :mod:`pmc.sync.delta` — pure deltas of tables and data folders, their order
- :mod:`pmc.sync.table_rows` — row hashes inside PostgreSQL, the one-transaction apply
- :mod:`pmc.sync.datafiles` — data folder listings, hashes and transfers
- :mod:`pmc.sync.delta_engine` — the native delta engine over SSH (compare, dry run, apply)
- :mod:`pmc.sync.drift` — the read-only drift report (rows, files, config files)
- :mod:`pmc.sync.runner` — background sync jobs: queue per cluster, retry, schedules, history
"""
