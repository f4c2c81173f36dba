#!/usr/bin/env bash
# Install JD Cloud's official clients into isolated virtual environments under .clients/:
#   .clients/jdc     the `jdc` CLI (jdcloud-cli 1.2.12 with jdcloud-sdk 1.6.180, JDCLOUD3 signing)
#   .clients/sdk-v2  the Python SDK jdcloud-sdk 1.6.94 (JDCLOUD2 signing)
# Every package, the setuptools that builds the source-only ones included, is pinned and
# hash-checked from scripts/requirements-*.txt. A venv whose requirement files have not changed
# since its last complete install is left alone, so running the script again costs nothing.
# Needs python3 (3.11: jdc uses configparser.SafeConfigParser, which 3.12 removed) and a
# reachable package index.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly PYTHON="${PYTHON:-python3}"
readonly BUILD_REQUIREMENTS=scripts/requirements-build.txt
readonly STAMP_NAME=.requirements.sha256

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "install-clients: $PYTHON is $("$PYTHON" -V 2>&1), but the pinned clients need Python 3.11." \
        "Set PYTHON to a Python 3.11 interpreter." >&2
    exit 1
fi

# Print one digest over the requirement files that make up an environment.
requirements_digest() {
    cat "$@" | sha256sum | cut -d' ' -f1
}

# Create or refresh the venv $1 from the requirement file $2.
install_env() {
    local venv=$1
    local requirements=$2
    local digest
    digest=$(requirements_digest "$BUILD_REQUIREMENTS" "$requirements")

    if [[ -x $venv/bin/python && -f $venv/$STAMP_NAME ]] \
        && [[ $(<"$venv/$STAMP_NAME") == "$digest" ]] \
        && "$venv/bin/python" -c '' 2>/dev/null; then
        echo "install-clients: $venv is up to date"
        return
    fi

    echo "install-clients: creating $venv from $requirements"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"

    local pip=("$venv/bin/python" -m pip --disable-pip-version-check --no-input --quiet)
    # The source archives are built with the venv's own pinned setuptools, because pip's isolated
    # build environments would fetch an unpinned, unchecked setuptools.
    "${pip[@]}" install --require-hashes -r "$BUILD_REQUIREMENTS"
    "${pip[@]}" install --require-hashes --no-build-isolation -r "$requirements"
    "${pip[@]}" check

    # The stamp is written last, so an interrupted install is redone on the next run.
    echo "$digest" >"$venv/$STAMP_NAME"
    echo "install-clients: $venv ready"
}

install_env .clients/jdc scripts/requirements-jdc.txt
install_env .clients/sdk-v2 scripts/requirements-sdk-v2.txt

.clients/jdc/bin/jdc --version >/dev/null
.clients/sdk-v2/bin/python -c 'import jdcloud_sdk.services.vm.client.VmClient'
