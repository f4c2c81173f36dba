#!/usr/bin/env bash
# Install the servers that the test suite runs against, from Debian's packages:
#   postgresql    PostgreSQL's server programs initdb, pg_ctl and postgres (/usr/lib/postgresql/N/bin)
#   redis-server  the Redis server
# The tests start their own throw-away servers on free loopback ports (tests/services.py), so they
# need only the programs. Where an init system runs, a package that this script installs may start
# a system-wide server on its default port (5432, 6379). The script stops that server again, but
# leaves alone any server that was running before.
#
# Usage: scripts/services.sh install
# A program already present is left alone, so running the script again costs nothing. Installing
# needs root (or sudo) and apt-get.
set -euo pipefail

readonly SCRIPT_NAME=services

usage() {
    echo "usage: scripts/services.sh install" >&2
    exit 2
}

# Succeed when some /usr/lib/postgresql/N/bin contains all three server programs.
postgres_present() {
    local bin_dir
    for bin_dir in /usr/lib/postgresql/*/bin; do
        if [[ -x $bin_dir/initdb && -x $bin_dir/pg_ctl && -x $bin_dir/postgres ]]; then
            return 0
        fi
    done
    return 1
}

redis_present() {
    command -v redis-server >/dev/null 2>&1
}

# Stop the system-wide server $1 (an init script name) if the package just started it.
stop_system_service() {
    local service_name=$1
    if ! command -v service >/dev/null 2>&1; then
        return
    fi
    if "${run_as_root[@]}" service "$service_name" status >/dev/null 2>&1; then
        echo "$SCRIPT_NAME: stopping the system-wide $service_name service that the package started" >&2
        "${run_as_root[@]}" service "$service_name" stop >/dev/null
    fi
}

install_packages() {
    local missing_packages=()
    postgres_present || missing_packages+=(postgresql)
    redis_present || missing_packages+=(redis-server)

    if ((${#missing_packages[@]} == 0)); then
        echo "$SCRIPT_NAME: postgresql and redis-server are installed" >&2
        return
    fi

    if ! command -v apt-get >/dev/null 2>&1; then
        echo "$SCRIPT_NAME: apt-get not found; install ${missing_packages[*]} by hand" >&2
        exit 1
    fi

    run_as_root=()
    if [[ $(id -u) -ne 0 ]]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "$SCRIPT_NAME: installing ${missing_packages[*]} needs root;" \
                "run as root or install them by hand" >&2
            exit 1
        fi
        run_as_root=(sudo)
    fi

    echo "$SCRIPT_NAME: installing ${missing_packages[*]} with apt-get" >&2
    "${run_as_root[@]}" apt-get update -qq
    "${run_as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing_packages[@]}" >/dev/null

    local package
    for package in "${missing_packages[@]}"; do
        stop_system_service "$package"
    done

    if ! postgres_present; then
        echo "$SCRIPT_NAME: installing postgresql did not provide" \
            "/usr/lib/postgresql/N/bin/{initdb,pg_ctl,postgres}" >&2
        exit 1
    fi
    if ! redis_present; then
        echo "$SCRIPT_NAME: installing redis-server did not put redis-server on PATH" >&2
        exit 1
    fi
    echo "$SCRIPT_NAME: installed ${missing_packages[*]}" >&2
}

if (($# != 1)); then
    usage
fi

case $1 in
    install) install_packages ;;
    *) usage ;;
esac
