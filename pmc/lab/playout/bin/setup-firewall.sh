#!/bin/bash
# Open Playout's ports in firewalld (run by the installer).
ZONE=public
for port in 22/tcp 80/tcp 2001/tcp 5000/tcp 5432/tcp 5555/tcp 8081/tcp 161/udp 162/udp; do
    echo "$0: opening $port"
    firewall-cmd --permanent --zone=$ZONE --add-port=$port || exit 1
done
firewall-cmd --reload || exit 1
