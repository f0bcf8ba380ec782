#!/bin/bash
# Mark copy config as stopped on this server (also resets a status left at running).
PSQL="psql -X -q -At -v ON_ERROR_STOP=1 -U postgres -d playout"
echo "$0: Updating the replication status"
$PSQL -c "update replication_status set status = 'stopped' where id = 1" || exit 1
echo "$0: Updating the replication stop time"
$PSQL -c "update replication_status set stop_time = now() where id = 1" || exit 1
