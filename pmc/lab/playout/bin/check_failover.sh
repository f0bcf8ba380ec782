#!/bin/bash
# Configure this server's failover peer and check it: check_failover.sh PEER
# (run on the secondary with the primary's eth2 address before copy_config.sh).
PLAYOUT_HOME=${PLAYOUT_HOME:-/opt/playout}
if [ $# -ne 1 ]; then
    echo "Usage: $0 PEER_HOST" >&2
    exit 2
fi
if [ ! -s "$PLAYOUT_HOME/.failover-peer" ]; then
    echo "$0: warning: no managers specified"
fi
echo "autoupdate inactive: 1"
printf '%s\n' "$1" > "$PLAYOUT_HOME/.failover-peer" || exit 1
PEER_STATUS=$PLAYOUT_HOME/bin/check_peer_status.sh
[ -x "$PEER_STATUS" ] || PEER_STATUS=$(dirname "$0")/check_peer_status.sh
"$PEER_STATUS" "$1"
