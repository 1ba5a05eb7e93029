#!/usr/bin/env bash
# Run the platform as separate processes, one per Procfile line (`make run-services`):
#   1. create the PostgreSQL database DATABASE_URL names if missing, then `flask setup`
#      (migrations, bundled processes); `flask load-demo` too with JIANGUAN_LOAD_DEMO=1;
#   2. start each Procfile process (SCALE="worker=2,web=1" starts several of a kind), its
#      output prefixed with its name;
#   3. on Ctrl-C or SIGTERM, or when any process exits, stop them all (SIGTERM, then SIGKILL
#      after STOP_TIMEOUT seconds) and exit.
# Defaults target this machine's servers (`make services`); every variable may be overridden,
# and a .env file beside the Procfile is read first, as honcho does.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"

if [[ -f .env ]]; then
    set -a
    # shellcheck disable=SC1091
    source .env
    set +a
fi
export DATABASE_URL=${DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/jianguan}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}
export REDIS_URL=${REDIS_URL:-$CELERY_BROKER_URL}
export MQTT_URL=${MQTT_URL:-mqtt://127.0.0.1:1883}
export PORT=${PORT:-5000}
PROCFILE=${PROCFILE:-$ROOT/Procfile}
SCALE=${SCALE:-}
STOP_TIMEOUT=${STOP_TIMEOUT:-20}

log() { printf '%(%H:%M:%S)T run_services | %s\n' -1 "$*"; }

mkdir -p var
flask --app app create-database
flask --app app setup
if [[ ${JIANGUAN_LOAD_DEMO:-0} == 1 ]]; then
    flask --app app load-demo --if-empty
fi

# how many processes of a kind: SCALE="worker=2,web=1"; 1 when not named
count_of() {
    local item
    for item in ${SCALE//,/ }; do
        if [[ ${item%%=*} == "$1" ]]; then
            echo "${item#*=}"
            return
        fi
    done
    echo 1
}

pids=()
labels=()
stopping=0

start() {  # label command
    local label=$1 command=$2
    # the prefixer ignores INT/TERM so it outlives its process and prints its last words
    bash -c "exec $command" > >(trap '' INT TERM; exec sed -u "s/^/$(printf '%-10s' "$label") | /") 2>&1 &
    pids+=("$!")
    labels+=("$label")
    log "started $label (pid $!): $command"
}

stop_all() {
    ((stopping)) && return
    stopping=1
    local i waited
    for i in "${!pids[@]}"; do
        kill -TERM "${pids[$i]}" 2>/dev/null || true
    done
    for ((waited = 0; waited < STOP_TIMEOUT * 10; waited++)); do
        local alive=0
        for i in "${!pids[@]}"; do
            kill -0 "${pids[$i]}" 2>/dev/null && alive=1
        done
        ((alive)) || break
        sleep 0.1
    done
    for i in "${!pids[@]}"; do
        if kill -0 "${pids[$i]}" 2>/dev/null; then
            log "${labels[$i]} did not stop within ${STOP_TIMEOUT}s: SIGKILL"
            kill -KILL -- "-${pids[$i]}" 2>/dev/null || kill -KILL "${pids[$i]}" 2>/dev/null || true
        fi
    done
    wait 2>/dev/null || true
}

on_signal() {
    log "stopping all processes"
    stop_all
    exit 0
}

# job control: each process gets its own process group, so a Ctrl-C reaches this script only
# and the processes are stopped in order (SIGTERM: gunicorn and Celery finish what they do)
set -m
trap on_signal INT TERM

while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^([A-Za-z0-9_-]+):[[:space:]]*(.+)$ ]] || continue
    name=${BASH_REMATCH[1]}
    command=${BASH_REMATCH[2]}
    n=$(count_of "$name")
    for ((k = 1; k <= n; k++)); do
        if ((n > 1)); then start "$name.$k" "$command"; else start "$name" "$command"; fi
    done
done < "$PROCFILE"

((${#pids[@]})) || { log "no processes in $PROCFILE"; exit 1; }
log "platform on http://${JIANGUAN_BIND:-127.0.0.1}:$PORT (Ctrl-C stops everything)"

# the first process to exit stops the others: a half-running platform is not left behind
while true; do
    for i in "${!pids[@]}"; do
        if ! kill -0 "${pids[$i]}" 2>/dev/null; then
            status=0
            wait "${pids[$i]}" 2>/dev/null || status=$?
            log "${labels[$i]} exited (status $status): stopping the others"
            stop_all
            exit 1
        fi
    done
    sleep 1 &
    wait $! 2>/dev/null || true
done
