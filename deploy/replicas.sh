#!/bin/sh
# Starts three kiruna-twin replicas on this machine (ports 8081–8083) on one
# shared PostgreSQL/PostGIS and one NATS, for deploy/nginx.conf to front.
# On several machines, run one replica per machine the same way.
#
#   KIRUNA_STORE=postgres://twin:secret@db.example/twin \
#   KIRUNA_BUS=nats://nats.example:4222 \
#   deploy/replicas.sh [path/to/kiruna-twin]
#
# The first replica runs the built-in sensor simulator; the others do not
# (one simulator for the whole twin). Stop them all with Ctrl-C.
set -eu
bin=${1:-kiruna-twin}
: "${KIRUNA_STORE:?set KIRUNA_STORE to the postgres:// URL of the shared store}"
: "${KIRUNA_BUS:?set KIRUNA_BUS to the nats:// URL of the bus}"
pids=""
trap 'kill $pids 2>/dev/null; wait' INT TERM EXIT
for i in 1 2 3; do
  simulate=false
  [ "$i" = 1 ] && simulate=true
  "$bin" serve --addr "127.0.0.1:808$i" --data "./data-replica-$i" \
    --store "$KIRUNA_STORE" --bus "$KIRUNA_BUS" --simulate="$simulate" \
    --trusted-proxy 127.0.0.1/32 &
  pids="$pids $!"
done
wait
