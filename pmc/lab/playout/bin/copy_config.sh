#!/bin/bash
# Copy Playout's configuration from the primary to the secondary server (Slony-I), then the
# carousel, av and ts files (over ssh as root), and restart Playout's services on the secondary.
#
#   copy_config.sh PRIMARY_HOST SECONDARY_HOST     (the eth2 addresses, primary first)
#
# Runs on the primary. Needs: root's key in the secondary's authorized_keys, check_failover.sh
# run on the secondary with the primary's address, and each PostgreSQL reachable from the other
# (listen_addresses, pg_hba.conf, port 5432 open). Details go to /var/log/playout-copy-config.log.

PLAYOUT_HOME=${PLAYOUT_HOME:-/opt/playout}
LOGFILE=${COPY_CONFIG_LOG:-/var/log/playout-copy-config.log}
BIN_DIR=$(dirname "$0")
CLUSTER=playout
DATA_DIRS="carousel av ts"
SLONY_TIMEOUT=${SLONY_TIMEOUT:-300}
# The configuration and EPG tables, in foreign-key order (pmc.lab.playout.REPLICATED_TABLES);
# ts_outputs and replication_status belong to each server and are never copied.
TABLES="general_settings networks transport_streams eit_sources dvb_services network_services
psi_si_tables descriptors carousels carousel_files ait_applications stream_events playlists
playlist_items cas_settings eit_event"
PATH=$PATH:/usr/lib/postgresql/15/bin:/usr/pgsql-15/bin
SSH_OPTS="-o BatchMode=yes -o StrictHostKeyChecking=accept-new -o ConnectTimeout=10"
PRIMARY_LOGFILE=/var/log/playout-slon-primary.log
SECONDARY_LOGFILE=/var/log/playout-slon-secondary.log
SLON_PIDS=""

say() {
    echo "$0: $*"
    echo "$(date '+%F %T') $0: $*" >> "$LOGFILE"
}

say_n() {
    echo -n "$0: $* "
    echo "$(date '+%F %T') $0: $*" >> "$LOGFILE"
}

log() {
    echo "$(date '+%F %T') $*" >> "$LOGFILE"
}

# run_step "Message" command args…: prints "Message... returned RC", the command's output to the log.
run_step() {
    local message=$1
    shift
    log "+ $*"
    "$@" >> "$LOGFILE" 2>&1
    local rc=$?
    say "$message... returned $rc"
    return $rc
}

on_secondary() {
    # shellcheck disable=SC2086
    ssh $SSH_OPTS "root@$SECONDARY_HOST" "$@"
}

own_address() {
    local addr
    addr=$(ip -4 -o addr show dev eth3 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -1)
    [ -n "$addr" ] || addr=$(hostname -I 2>/dev/null | awk '{print $1}')
    [ -n "$addr" ] || addr=$(hostname)
    echo "$addr"
}

local_psql() {
    psql -X -q -At -v ON_ERROR_STOP=1 -U postgres -d playout "$@"
}

conninfo() {
    echo "dbname=playout user=postgres host=$1"
}

slonik_preamble() {
    cat <<PREAMBLE
cluster name = $CLUSTER;
node 1 admin conninfo = '$(conninfo "$PRIMARY_HOST")';
node 2 admin conninfo = '$(conninfo "$SECONDARY_HOST")';
PREAMBLE
}

create_replication_system() {
    {
        slonik_preamble
        cat <<SLONIK
init cluster (id = 1, comment = 'Playout primary $PRIMARY_HOST');
store node (id = 2, comment = 'Playout secondary $SECONDARY_HOST', event node = 1);
store path (server = 1, client = 2, conninfo = '$(conninfo "$PRIMARY_HOST")');
store path (server = 2, client = 1, conninfo = '$(conninfo "$SECONDARY_HOST")');
SLONIK
    } | slonik
}

start_replication() {
    {
        slonik_preamble
        echo "create set (id = 1, origin = 1, comment = 'Playout configuration');"
        local id=1 table
        for table in $TABLES; do
            echo "set add table (set id = 1, origin = 1, id = $id, fully qualified name = 'public.$table');"
            id=$((id + 1))
        done
        echo "subscribe set (id = 1, provider = 1, receiver = 2, forward = no);"
    } | slonik
}

wait_for_replication() {
    {
        slonik_preamble
        cat <<SLONIK
sync (id = 1);
wait for event (origin = 1, confirmed = 2, wait on = 1, timeout = $SLONY_TIMEOUT);
SLONIK
    } | slonik || return $?
    # The subscription is active once the secondary has copied the set.
    local active
    active=$(psql -X -At -d "$(conninfo "$SECONDARY_HOST")" \
        -c "select sub_active from _$CLUSTER.sl_subscribe where sub_set = 1 and sub_receiver = 2")
    log "subscription active on secondary: $active"
    [ "$active" = t ]
}

remove_replication_system() {
    # uninstall node restores the tables on each node; a node without the cluster is skipped.
    local host
    for host in "$PRIMARY_HOST" "$SECONDARY_HOST"; do
        psql -X -q -At -d "$(conninfo "$host")" -c "drop schema if exists _$CLUSTER cascade" \
            >> "$LOGFILE" 2>&1
    done
}

start_slon() {
    # $1: Primary or Secondary
    if [ "$1" = Primary ]; then
        slon playout "dbname=playout user=postgres host=$PRIMARY_HOST" > "$PRIMARY_LOGFILE" 2>&1 &
    else
        slon playout "dbname=playout user=postgres host=$SECONDARY_HOST" > "$SECONDARY_LOGFILE" 2>&1 &
    fi
    SLON_PIDS="$SLON_PIDS $!"
}

kill_slons() {
    [ -n "$SLON_PIDS" ] || return 0
    local pid
    for pid in $SLON_PIDS; do
        # each slon is a watchdog with a worker child: stop the worker first
        pkill -9 -P "$pid" -x slon 2>/dev/null
    done
    # shellcheck disable=SC2086
    kill -9 $SLON_PIDS
    local rc=$?
    wait $SLON_PIDS
    SLON_PIDS=""
    return $rc
}

copy_files() {
    # $1: carousel, av or ts
    local dir="$PLAYOUT_HOME/data/$1"
    run_step "Removing secondary old $1 files" \
        on_secondary "mkdir -p '$dir' && find '$dir' -mindepth 1 -delete" || return 1
    mkdir -p "$dir"
    run_step "Copying $1 files to secondary" \
        bash -o pipefail -c "tar -C '$dir' -cf - . | ssh $SSH_OPTS 'root@$SECONDARY_HOST' \"tar -C '$dir' -xf -\"" \
        || return 1
    run_step "Changing $1 files owner on secondary" on_secondary "chown -R root:root '$dir'" \
        || return 1
}

failure() {
    say "Failure, setting replication status to stopped."
    kill_slons > /dev/null 2>&1
    [ -n "$SECONDARY_HOST" ] && remove_replication_system
    "$BIN_DIR/replication_stopped.sh" >> "$LOGFILE" 2>&1
    exit 1
}

main() {
    if [ $# -ne 2 ]; then
        echo "Usage: $0 PRIMARY_HOST SECONDARY_HOST" >&2
        exit 2
    fi
    PRIMARY_HOST=$1
    SECONDARY_HOST=$2
    log "==== $0 $*"

    if [ ! -s "$PLAYOUT_HOME/.failover-peer" ]; then
        say "warning: no managers specified"
        say "Checking own status..."
    fi
    say "$(LC_ALL=C date): Copy config starting on $(own_address)"
    say "Primary host: $PRIMARY_HOST"
    say "Secondary host: $SECONDARY_HOST"
    say "Checking if replication is in progress..."
    local status
    status=$(local_psql -c "select status from replication_status where id = 1" 2>> "$LOGFILE")
    if [ "$status" = running ]; then
        say "Skip replication: replication is already in progress"
        say "You can reset the replication status by running $BIN_DIR/replication_stopped.sh"
        say "Don't reset the replication if it is still running."
        say "After resetting replication you can run $0 again."
        exit 1
    fi
    "$BIN_DIR/replication_started.sh" "$SECONDARY_HOST" 2>> "$LOGFILE" || failure
    say "Starting at $(LC_ALL=C date)."

    log "+ checking failover configuration of $SECONDARY_HOST"
    local answer
    answer=$(on_secondary "peer=\$(cat '$PLAYOUT_HOME/.failover-peer' 2>/dev/null) || exit 127; [ \"\$peer\" = '$PRIMARY_HOST' ]" 2>&1)
    local rc=$?
    [ -z "$answer" ] || printf '%s\n' "$answer" >> "$LOGFILE"
    if [ $rc -eq 255 ]; then
        # ssh's own exit status: no login (key, host key, network), not a failover problem
        log "ssh root@$SECONDARY_HOST failed (ssh exit 255): $(printf '%s' "$answer" | tail -n 1)"
    fi
    if [ $rc -ne 0 ]; then
        say "Checking failover on slave... returned $rc"
        failure
    fi

    say "Remove replication system..."
    remove_replication_system
    run_step "Export DSMCC config on secondary" on_secondary \
        "psql -X -q -U postgres -d playout -c \"\\copy (select * from carousels order by id) to '$PLAYOUT_HOME/.dsmcc-export.csv' csv header\"" \
        || failure
    run_step "Create replication system" create_replication_system || failure
    say_n "Stop playout services on secondary..."
    on_secondary "systemctl stop playout-scheduler eit-update playout-admin" >> "$LOGFILE" 2>&1
    say "Start slon process for Primary"
    start_slon Primary
    say "Start slon process for Secondary"
    start_slon Secondary
    run_step "Start replication" start_replication || failure
    say "REPLICATION IS IN PROGRESS"
    say "Please wait..."
    local kind
    for kind in $DATA_DIRS; do
        copy_files "$kind" || failure
    done
    log "+ waiting until the secondary has copied the set"
    wait_for_replication >> "$LOGFILE" 2>&1 || failure
    say "Replication completed"
    say "Killall slon..."
    kill_slons
    say "Killall slon returned $?"
    say "Remove replication system..."
    remove_replication_system
    run_step "Import DSMCC config on secondary" on_secondary "rm -f '$PLAYOUT_HOME/.dsmcc-export.csv'" \
        || failure
    run_step "Restart playout services on secondary" on_secondary \
        "systemctl restart playout-scheduler eit-update playout-admin playout-api.service" || failure
    say_n "Setting replication status to stopped..."
    "$BIN_DIR/replication_stopped.sh"
    echo "returned $?"
    say "Replication finished successfully at $(LC_ALL=C date)."
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
