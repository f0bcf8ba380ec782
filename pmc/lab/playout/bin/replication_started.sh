#!/bin/bash
# Mark copy config as running on this server: replication_started.sh [PEER]
PSQL="psql -X -q -At -v ON_ERROR_STOP=1 -U postgres -d playout"
echo "$0: Updating the replication status"
$PSQL -c "update replication_status set status = 'running', peer = coalesce(nullif('${1//\'/}', ''), peer) where id = 1" || exit 1
echo "$0: Updating the replication start time"
$PSQL -c "update replication_status set start_time = now() where id = 1" || exit 1
