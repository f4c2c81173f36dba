#!/usr/bin/env bash
# Install what `make bench` needs beyond the project's venv, from Debian's packages:
#   wrk      the HTTP load generator
#   taskset  pins the server and wrk to their own CPUs (package util-linux)
# A tool already on PATH is left alone, so running the script again costs nothing. Installing
# needs root (or sudo) and apt-get.
set -euo pipefail

missing_packages=()
command -v wrk >/dev/null 2>&1 || missing_packages+=(wrk)
command -v taskset >/dev/null 2>&1 || missing_packages+=(util-linux)

if ((${#missing_packages[@]} == 0)); then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-bench-tools: apt-get not found; install the packages ${missing_packages[*]} by hand" >&2
    exit 1
fi

run_as_root=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-bench-tools: installing ${missing_packages[*]} needs root;" \
            "run as root or install them by hand" >&2
        exit 1
    fi
    run_as_root=(sudo)
fi

echo "install-bench-tools: installing ${missing_packages[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
"${run_as_root[@]}" apt-get update -qq
"${run_as_root[@]}" apt-get install -y -qq "${missing_packages[@]}"
