#!/bin/sh
# Make the Mosquitto password file from environment variables, so no password is committed.
#
# Usage: scripts/make-mosquitto-passwd.sh [--env-file FILE | --no-env-file] [--acl FILE] [OUTPUT]
#
#   OUTPUT        the password file to write (default: mosquitto/passwd, git-ignored)
#   --acl FILE    the ACL whose `user` lines name the users (default: mosquitto/acl)
#   --env-file F  also read MQTT_*_PASSWORD=... lines from F (default: .env, if it exists);
#                 variables already set in the environment take precedence
#   --no-env-file read the environment only
#
# Every user named in the ACL needs a password in MQTT_<USER>_PASSWORD: the user name in upper
# case with '-' as '_' (sim-dossier -> MQTT_SIM_DOSSIER_PASSWORD). .env.example lists them.
# The file is written whole (to a temporary file, then renamed) with mode 0600, so running the
# script again after changing a password replaces it.
#
# It needs mosquitto_passwd (Debian/Ubuntu: apt-get install mosquitto; or set
# MOSQUITTO_PASSWD to its path). Without it, run this same script inside the broker image,
# which has both sh and mosquitto_passwd:
#
#   docker run --rm --env-file .env -v "$PWD:/src" -w /src -u "$(id -u):$(id -g)" \
#       eclipse-mosquitto:2.0.22 sh scripts/make-mosquitto-passwd.sh
#
# `docker compose up` does not need this step: the compose mosquitto service runs this script
# itself (mosquitto/docker-entrypoint.sh) when its password file is missing.
#
# Note: mosquitto_passwd -b takes the password as an argument, so it is briefly visible in the
# process list of this machine. These are development credentials; for production, provision
# the password file through your secret store instead.
set -eu

here=$(CDPATH='' cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
acl="$root/mosquitto/acl"
output="$root/mosquitto/passwd"
env_file="$root/.env"
env_file_given=no

usage() { sed -n '2,/^set -eu$/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --acl) acl=$2; shift 2 ;;
        --env-file) env_file=$2; env_file_given=yes; shift 2 ;;
        --no-env-file) env_file=; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "make-mosquitto-passwd: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) output=$1; shift ;;
    esac
done

# Read MQTT_*_PASSWORD assignments from the env file without executing it: only lines of the
# form NAME=value (value optionally in single or double quotes), and only names not already
# set in the environment.
if [ -n "$env_file" ]; then
    if [ -f "$env_file" ]; then
        while IFS= read -r line || [ -n "$line" ]; do
            case "$line" in
                MQTT_*_PASSWORD=*) ;;
                *) continue ;;
            esac
            name=${line%%=*}
            value=${line#*=}
            case "$name" in
                *[!A-Z0-9_]*) continue ;;
            esac
            case "$value" in
                \"*\") value=${value#\"}; value=${value%\"} ;;
                \'*\') value=${value#\'}; value=${value%\'} ;;
            esac
            eval "already=\${$name+set}"
            if [ -z "$already" ]; then
                export "$name=$value"
            fi
        done < "$env_file"
    elif [ "$env_file_given" = yes ]; then
        echo "make-mosquitto-passwd: env file $env_file does not exist" >&2
        exit 1
    fi
fi

if [ ! -f "$acl" ]; then
    echo "make-mosquitto-passwd: ACL file $acl does not exist" >&2
    exit 1
fi
users=$(sed -n 's/^[[:space:]]*user[[:space:]]\{1,\}\([^[:space:]#]\{1,\}\).*$/\1/p' "$acl")
if [ -z "$users" ]; then
    echo "make-mosquitto-passwd: no 'user' lines in $acl" >&2
    exit 1
fi

var_for() { printf 'MQTT_%s_PASSWORD' "$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')"; }

missing=
for user in $users; do
    var=$(var_for "$user")
    eval "password=\${$var-}"
    if [ -z "$password" ]; then
        missing="$missing $var"
    fi
done
if [ -n "$missing" ]; then
    echo "make-mosquitto-passwd: no password for:$missing" >&2
    echo "  set them in the environment or in .env (cp .env.example .env)" >&2
    exit 1
fi

passwd_tool=${MOSQUITTO_PASSWD:-mosquitto_passwd}
if ! command -v "$passwd_tool" >/dev/null 2>&1; then
    echo "make-mosquitto-passwd: $passwd_tool not found; install the mosquitto package, or run" >&2
    echo "  docker run --rm --env-file .env -v \"\$PWD:/src\" -w /src -u \"\$(id -u):\$(id -g)\" \\" >&2
    echo "      eclipse-mosquitto:2.0.22 sh scripts/make-mosquitto-passwd.sh" >&2
    exit 1
fi

umask 077
mkdir -p "$(dirname "$output")"
tmp="$output.tmp.$$"
trap 'rm -f -- "$tmp"' EXIT
create=-c
for user in $users; do
    var=$(var_for "$user")
    eval "password=\${$var}"
    "$passwd_tool" $create -b "$tmp" "$user" "$password"
    create=
done
chmod 0600 "$tmp"
mv -f -- "$tmp" "$output"
trap - EXIT
count=$(printf '%s\n' $users | wc -l | tr -d ' ')
echo "make-mosquitto-passwd: wrote $output ($count users)"
