# Sourced by .ci/run: installs PostgreSQL and PostGIS from Debian's
# packages, starts a throwaway cluster on loopback, exports its URL for the
# replica tests (KIRUNA_TEST_POSTGRES), and stops it when the run ends
# (the restart test runs a cluster of its own, twin/pgstore/pgtest), on a
# free port so that runs side by side do not collide. Also installs nginx,
# for the deploy/ example.
if [ ! -x /usr/lib/postgresql/15/bin/initdb ] || [ ! -e /usr/share/postgresql/15/extension/postgis.control ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql-15 postgresql-15-postgis-3 >/dev/null
fi
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nginx >/dev/null
fi
pg_bin=/usr/lib/postgresql/15/bin
pg_dir=$(mktemp -d /tmp/kiruna-ci-pg.XXXXXX)
chown postgres "$pg_dir"
stop_postgres() { su postgres -c "$pg_bin/pg_ctl -D $pg_dir/data -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$pg_dir"; }
trap stop_postgres EXIT
su postgres -c "$pg_bin/initdb -D $pg_dir/data -U postgres --auth=trust -E UTF8" >/dev/null
# A port of its own: other runs (or other clusters) may hold any fixed one.
pg_port=""
for try in 1 2 3 4 5 6 7 8 9 10; do
  port=$((40000 + RANDOM % 20000))
  if su postgres -c "$pg_bin/pg_ctl -D $pg_dir/data -o '-c listen_addresses=127.0.0.1 -p $port -k $pg_dir' -l $pg_dir/log -w start" >/dev/null 2>&1; then
    pg_port=$port
    break
  fi
done
if [ -z "$pg_port" ]; then
  echo "PostgreSQL did not start:"; tail -5 "$pg_dir/log"; exit 1
fi
export KIRUNA_TEST_POSTGRES="postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable"
echo "PostgreSQL $($pg_bin/postgres --version | awk '{print $3}') with PostGIS on 127.0.0.1:$pg_port"
