# A private PostgreSQL cluster for one test file, sourced after lib.sh:
#	. ./lib.sh; . "$TESTDIR/pg.sh"; plan N; pg_start; ...
# The cluster lives in its own temporary directory, listens on a Unix
# socket there only (no TCP port to collide with), and is stopped and
# removed on exit, whatever happens.  PostgreSQL refuses to run as root:
# as root, it runs as the user postgres (made by the Debian package).
# Missing PostgreSQL fails the test: install the package postgresql.
#
# PG_DIR the socket directory; PG_CONNINFO and PG_URL reach the database
# "postgres" as the superuser "postgres"; pg_psql runs psql there;
# pg_stop and pg_start stop and start the server mid-test; pg_password
# ROLE PASS makes a role that must log in with a password.

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n |
    tail -n 1)
[ -n "$PG_BIN" ] || PG_BIN=$(dirname "$(command -v initdb 2>/dev/null)")
if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ] ||
    ! command -v psql >/dev/null; then
	echo "Bail out! PostgreSQL is missing: install the Debian package" \
	    "postgresql (make deps)"
	exit 1
fi
pg_as=
if [ "$(id -u)" = 0 ]; then
	id postgres >/dev/null 2>&1 || {
		echo "Bail out! running as root and there is no user postgres"
		exit 1
	}
	pg_as="runuser -u postgres --"
fi
# Short: a socket path has at most 107 bytes.
PG_DIR=$(mktemp -d /tmp/sm-pg.XXXXXX)
[ -z "$pg_as" ] || chown postgres "$PG_DIR"
PG_CONNINFO="host=$PG_DIR user=postgres dbname=postgres"
PG_URL="postgresql://postgres@/postgres?host=$PG_DIR"
export PG_DIR PG_CONNINFO PG_URL

# In PG_DIR: the user postgres may not enter the test's directory.
pg_ctl() { (cd "$PG_DIR" && $pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" "$@"); }

pg_cleanup() {
	pg_ctl -m immediate stop >/dev/null 2>&1 || :
	rm -rf "$PG_DIR"
}
trap 'pg_cleanup; rm -rf "$SCRATCH"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# pg_start: makes the cluster the first time, then starts the server.
pg_start() {
	if [ ! -d "$PG_DIR/data" ]; then
		(cd "$PG_DIR" && $pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" \
		    -U postgres --no-sync -A trust) >"$PG_DIR/initdb.log" \
		    2>&1 || {
			sed 's/^/# /' "$PG_DIR/initdb.log"
			echo "Bail out! initdb failed"
			exit 1
		}
		# Roles of the group sm_password log in with a password.
		printf '%s\n' 'local all +sm_password scram-sha-256' \
		    'local all all trust' >"$PG_DIR/data/pg_hba.conf"
		pg_start_ &&
		    pg_psql -c 'CREATE ROLE sm_password NOLOGIN' >/dev/null
		return
	fi
	pg_start_
}
pg_start_() {
	pg_ctl -w -l "$PG_DIR/log" -o "-k $PG_DIR -h ''" start \
	    >/dev/null 2>&1 || {
		sed 's/^/# /' "$PG_DIR/log"
		echo "Bail out! the PostgreSQL server did not start"
		exit 1
	}
}

# pg_stop [MODE]: stops the server (fast: the sessions are ended).
pg_stop() { pg_ctl -w -m "${1:-fast}" stop >/dev/null; }

# pg_psql ARGS...: psql as the superuser, quiet, unaligned, stops on error.
pg_psql() {
	psql -X -q -At -v ON_ERROR_STOP=1 -h "$PG_DIR" -U postgres \
	    -d postgres "$@"
}

# pg_password ROLE PASS: a superuser role that must give PASS.
pg_password() {
	pg_psql -v r="$1" -v p="$2" <<'EOF'
CREATE ROLE :"r" LOGIN SUPERUSER PASSWORD :'p' IN ROLE sm_password;
EOF
}

# pg_script PATH: writes a command for programs that cannot call these
# functions (a C test): PATH stop [MODE] | start | psql ARGS...
pg_script() {
	cat >"$1" <<EOF2
#!/bin/sh
cmd=\$1; shift
cd "$PG_DIR" || exit 1
case \$cmd in
stop)	exec $pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -m "\${1:-fast}" \\
	    stop >/dev/null ;;
start)	exec $pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -l "$PG_DIR/log" \\
	    -o "-k $PG_DIR -h ''" start >/dev/null ;;
psql)	exec psql -X -q -At -v ON_ERROR_STOP=1 -h "$PG_DIR" -U postgres \\
	    -d postgres "\$@" ;;
esac
echo "usage: \$0 stop [MODE] | start | psql ARGS..." >&2
exit 64
EOF2
	chmod +x "$1"
}
