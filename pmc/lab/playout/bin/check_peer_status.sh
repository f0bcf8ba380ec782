#!/bin/bash
# Is the failover peer up? check_peer_status.sh [PEER] (default: the peer check_failover.sh recorded)
PLAYOUT_HOME=${PLAYOUT_HOME:-/opt/playout}
PEER=${1:-$(cat "$PLAYOUT_HOME/.failover-peer" 2>/dev/null)}
if [ -z "$PEER" ]; then
    echo "$0: no peer host configured (run check_failover.sh PEER)"
    exit 2
fi
echo "$0: peer host is $PEER"
for port in 22 5432; do
    if timeout 3 bash -c "exec 3<>/dev/tcp/$PEER/$port" 2>/dev/null; then
        echo "Peer active"
        exit 0
    fi
done
echo "Peer inactive"
exit 1
