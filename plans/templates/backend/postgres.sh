#!/bin/sh
# A throwaway PostgreSQL cluster for plans/backend-demo.toml's `service` step.
#
#   postgres.sh start DIR PORT   initdb into DIR/data, then run the server in the foreground on
#                                127.0.0.1:PORT (its socket in DIR), until it is stopped
#   postgres.sh ready DIR PORT   exit 0 once the server accepts connections
#   postgres.sh stop DIR PORT    fast shutdown (`pg_ctl stop -m fast`), waiting for it
#
# The server runs in the foreground, not through `pg_ctl start`, which detaches it into a
# session of its own: in planrun's process group it is ended with the apply even if every
# stop command fails. initdb, postgres and pg_ctl refuse to run as root, so as root they run
# as the `postgres` user (setpriv, without a shell or a new session in between).
set -eu

usage() {
    echo "usage: $0 start|ready|stop DIR PORT" >&2
    exit 2
}
[ $# -eq 3 ] || usage
what=$1 dir=$2 port=$3

# The directory holding initdb, postgres and pg_ctl: the one on PATH, else the newest of
# Debian's /usr/lib/postgresql/*/bin.
bindir() {
    for candidate in "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")" \
        $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [ -x "$candidate/initdb" ] && [ -x "$candidate/postgres" ] && [ -x "$candidate/pg_ctl" ]; then
            echo "$candidate"
            return 0
        fi
    done
    cat >&2 <<MSG
postgres.sh: the PostgreSQL server programs (initdb, postgres, pg_ctl) are neither on PATH nor
in /usr/lib/postgresql/*/bin.
Install them: \`apt-get install -y postgresql\` (Debian, Ubuntu; as root), \`dnf install
postgresql-server\` (Fedora), \`brew install postgresql@15\` (macOS); or put the directory that
holds initdb on PATH.
MSG
    return 127
}

bin=$(bindir) || exit 127

# The command prefix that runs a server program as the cluster's owner: nothing, or as root
# the `postgres` user.
owner=""
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "postgres.sh: running as root, and there is no \`postgres\` user to run the server as; create one (\`useradd --system postgres\`) or run planrun as another user" >&2
        exit 1
    fi
    if ! command -v setpriv >/dev/null 2>&1; then
        echo "postgres.sh: running as root needs setpriv (util-linux) to run the server as \`postgres\` in planrun's process group; install util-linux or run planrun as another user" >&2
        exit 1
    fi
    owner="setpriv --reuid=postgres --regid=postgres --init-groups --"
fi

case $what in
start)
    [ -d "$dir" ] || { echo "postgres.sh: no directory $dir" >&2; exit 1; }
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$dir"
    fi
    # The programs' own working directory must be readable by the user they run as.
    cd "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        echo "postgres.sh: initdb into $dir/data with $bin"
        # trust on 127.0.0.1 and the socket only: a throwaway cluster that nobody else reaches.
        $owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C \
            --no-sync --no-instructions
    fi
    echo "postgres.sh: postgres on 127.0.0.1:$port"
    # The server's own defaults otherwise (fsync on, as in the demo's setting), so that the
    # suite is measured against PostgreSQL as it is usually run.
    # shellcheck disable=SC2086 # $owner is a command prefix or nothing.
    exec $owner "$bin/postgres" -D "$dir/data" -p "$port" -h 127.0.0.1 -k "$dir"
    ;;
ready)
    if [ -x "$bin/pg_isready" ]; then
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres
    else
        # Without pg_isready: the server writes "ready" into its pid file once it accepts
        # connections.
        [ -S "$dir/.s.PGSQL.$port" ] && [ -f "$dir/data/postmaster.pid" ] &&
            grep -q ready "$dir/data/postmaster.pid"
    fi
    ;;
stop)
    cd "$dir" 2>/dev/null || cd /
    [ -f "$dir/data/postmaster.pid" ] || { echo "postgres.sh: no server running in $dir/data"; exit 0; }
    $owner "$bin/pg_ctl" stop -D "$dir/data" -m fast -w -t 30
    ;;
*)
    usage
    ;;
esac
