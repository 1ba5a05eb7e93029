#!/usr/bin/env bash
# Make sure the servers the tests talk to are up, starting (and if need be installing) them:
#   PostgreSQL 127.0.0.1:5432 (trust auth, user postgres, database test)
#   Redis      127.0.0.1:6379
#   Mosquitto  127.0.0.1:1883
# A no-op when all three already answer. Never stops or reconfigures a running server.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ensure_system.sh
source "$HERE/ensure_system.sh"

HOST=127.0.0.1
PG_PORT=5432
PG_DB=test
REDIS_PORT=6379
MQTT_PORT=1883
WAIT_SECONDS=${WAIT_SECONDS:-30}

tcp_open() {  # host port
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# wait_for NAME COMMAND...: poll COMMAND every 0.5 s until it succeeds, up to WAIT_SECONDS.
wait_for() {
    local name=$1 i
    shift
    for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
        if "$@"; then
            return 0
        fi
        sleep 0.5
    done
    die "$name did not answer within ${WAIT_SECONDS}s"
}

as_postgres() {
    if [[ $(id -un) == postgres ]]; then
        "$@"
    elif [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        sudo -u postgres "$@"
    fi
}

# --- PostgreSQL -------------------------------------------------------------------------

pg_up() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$HOST" -p "$PG_PORT"
    else
        tcp_open "$HOST" "$PG_PORT"
    fi
}

pg_query() {  # database sql: as the tests connect (TCP, user postgres, no password)
    PGCONNECT_TIMEOUT=5 psql -X -q -t -A -w -h "$HOST" -p "$PG_PORT" -U postgres -d "$1" -c "$2"
}

pg_version() {  # the newest cluster version configured on this machine
    { ls /etc/postgresql 2>/dev/null || true; } | sort -V | tail -n 1
}

# Trust local TCP connections: only for a server this script just installed.
pg_trust_localhost() {
    local version hba
    version=$(pg_version)
    hba=/etc/postgresql/$version/main/pg_hba.conf
    [[ -f $hba ]] || die "no $hba"
    if ! as_root grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
        log "configuring trust auth for 127.0.0.1 in $hba"
        # the first matching line wins, so put the trust lines before Debian's defaults
        as_root sed -i '0,/^[[:space:]]*\(local\|host\)/s//# jianguan: trust the loopback (test server)\nhost all all 127.0.0.1\/32 trust\nhost all all ::1\/128 trust\n&/' "$hba"
    fi
}

ensure_postgresql() {
    local fresh=0
    if ! pg_up; then
        if ! command -v pg_ctlcluster >/dev/null 2>&1 || [[ -z $(pg_version) ]]; then
            apt_install postgresql
            fresh=1
        fi
        local version
        version=$(pg_version)
        [[ -n $version ]] || die "PostgreSQL installed but no cluster under /etc/postgresql"
        if ((fresh)); then pg_trust_localhost; fi
        if ! pg_up; then
            log "starting PostgreSQL $version"
            as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
        elif ((fresh)); then
            log "reloading PostgreSQL $version"
            as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
        fi
        wait_for PostgreSQL pg_up
    fi
    if pg_query "$PG_DB" 'select 1' >/dev/null 2>&1; then
        return 0
    fi
    if pg_query postgres 'select 1' >/dev/null 2>&1; then
        log "creating database $PG_DB"
        pg_query postgres "create database $PG_DB" >/dev/null
    elif ((fresh)); then
        log "creating database $PG_DB (local socket)"
        as_postgres createdb "$PG_DB"
    fi
    pg_query "$PG_DB" 'select 1' >/dev/null ||
        die "PostgreSQL on $HOST:$PG_PORT does not accept user postgres without a password on database $PG_DB (needs trust auth for 127.0.0.1)"
}

# --- Redis ------------------------------------------------------------------------------

redis_up() {
    if command -v redis-cli >/dev/null 2>&1; then
        [[ $(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
    else
        tcp_open "$HOST" "$REDIS_PORT"
    fi
}

ensure_redis() {
    redis_up && return 0
    command -v redis-server >/dev/null 2>&1 || apt_install redis-server
    log "starting Redis on $HOST:$REDIS_PORT"
    # nothing kept on disk: the tests need a broker, not a store
    redis-server --daemonize yes --bind "$HOST" --port "$REDIS_PORT" --save "" --appendonly no \
        --dir "${TMPDIR:-/tmp}" >/dev/null
    wait_for Redis redis_up
}

# --- Mosquitto --------------------------------------------------------------------------

mqtt_up() { tcp_open "$HOST" "$MQTT_PORT"; }

# Mosquitto keeps at most 1000 QoS 1 messages queued per client by default and drops the rest
# without telling anyone: a listener that restarts or falls behind a burst of alarms would lose
# them. The platform needs a deeper queue (docs/deployment.md says the same for production).
MQTT_CONF=/etc/mosquitto/mosquitto.conf
configure_mosquitto() {
    [[ -f $MQTT_CONF ]] || return 0
    grep -q '^max_queued_messages' "$MQTT_CONF" && return 0
    log "Mosquitto: max_queued_messages 1000000 in $MQTT_CONF (QoS 1 is not dropped)"
    as_root sh -c "printf '%s\n' '' '# Jianguan: keep QoS 1 messages for a listener that is behind or restarting' \
        'max_queued_messages 1000000' >> '$MQTT_CONF'"
    local pid i
    pid=$(cat /run/mosquitto/mosquitto.pid 2>/dev/null || pgrep -x mosquitto | head -1 || true)
    [[ -n $pid ]] || return 0
    # 2.0 does not apply this limit on a reload signal: restart it (sessions are persisted)
    log "restarting Mosquitto for the new limit"
    as_root kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do mqtt_up || break; sleep 0.1; done
}

ensure_mosquitto() {
    configure_mosquitto
    mqtt_up && return 0
    command -v mosquitto >/dev/null 2>&1 || [[ -x /usr/sbin/mosquitto ]] || apt_install mosquitto
    local bin
    bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
    log "starting Mosquitto on $HOST:$MQTT_PORT"
    # Debian's config writes its pid and log under /run and /var/log: start it as root
    as_root "$bin" -d -c /etc/mosquitto/mosquitto.conf
    wait_for Mosquitto mqtt_up
}

main() {
    ensure_postgresql
    ensure_redis
    ensure_mosquitto
    log "services up: PostgreSQL $HOST:$PG_PORT/$PG_DB, Redis $HOST:$REDIS_PORT, Mosquitto $HOST:$MQTT_PORT"
}

main "$@"
