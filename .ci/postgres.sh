# Sourced by .ci/run: installs PostgreSQL and PostGIS from Debian's
# packages, starts a throwaway cluster on loopback, exports its URL for the
# replica tests (KIRUNA_TEST_POSTGRES), and stops it when the run ends
# (the restart test runs a cluster of its own, twin/pgstore/pgtest). Also installs nginx, for the deploy/ example.
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
pg_port=${KIRUNA_CI_PG_PORT:-55433}
chown postgres "$pg_dir"
su postgres -c "$pg_bin/initdb -D $pg_dir/data -U postgres --auth=trust -E UTF8" >/dev/null
pg_ctl_cmd="$pg_bin/pg_ctl -D $pg_dir/data -o '-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir' -l $pg_dir/log -w"
su postgres -c "$pg_ctl_cmd start" >/dev/null
stop_postgres() { su postgres -c "$pg_bin/pg_ctl -D $pg_dir/data -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$pg_dir"; }
trap stop_postgres EXIT
export KIRUNA_TEST_POSTGRES="postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable"
echo "PostgreSQL $($pg_bin/postgres --version | awk '{print $3}') with PostGIS on 127.0.0.1:$pg_port"
