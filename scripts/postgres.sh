# Sourced by scripts/test.sh (and the service benchmark): starts a throwaway PostgreSQL
# cluster from Debian's packages in a temporary folder, on a loopback port, and sets
# AMF_TEST_POSTGRES_URL; `postgres_stop` stops it and removes the folder.
# AMF_TEST_POSTGRES_CTL is a command that stops (`stop`) and starts (`start`) the same
# cluster again, for the test of the service riding out a database outage.
# initdb refuses to run as root, so as root the cluster runs as the `nobody` user.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$pg_bin/initdb" ] || { echo "PostgreSQL's server is not installed (scripts/setup.sh test installs it)" >&2; return 1; }
pg_dir=$(mktemp -d)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown nobody "$pg_dir"
as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust >/dev/null
pg_port=$((40000 + RANDOM % 20000))
cat >"$pg_dir/ctl" <<CTL
#!/bin/sh
# stop | start: the test cluster, as scripts/postgres.sh started it.
as=""; [ "\$(id -u)" = 0 ] && as="runuser -u nobody --"
case "\$1" in
  stop) exec \$as "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop ;;
  # A start right after a stop failed once in a full test run (why was not kept): it is tried
  # three times, and a last failure shows the server's log.
  start)
    for try in 1 2 3; do
      \$as "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \\
        -o "-k $pg_dir -p $pg_port -c listen_addresses=127.0.0.1 -c max_connections=200" start && exit 0
      sleep 2
    done
    tail -n 30 "$pg_dir/log" >&2
    exit 1 ;;
esac
CTL
chmod +x "$pg_dir/ctl"
"$pg_dir/ctl" start >/dev/null
postgres_stop() {
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
psql -q -h 127.0.0.1 -p "$pg_port" -U postgres -c 'CREATE DATABASE amf_test' >/dev/null
export AMF_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/amf_test"
export AMF_TEST_POSTGRES_CTL="$pg_dir/ctl"
