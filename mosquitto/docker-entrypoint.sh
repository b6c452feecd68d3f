#!/bin/sh
# Entry point of the mosquitto service in docker-compose.yml (eclipse-mosquitto image).
#
# It makes `docker compose up` work with nothing but a copied .env: when the password file is
# missing it is generated from the MQTT_*_PASSWORD variables by the same script developers run
# by hand (scripts/make-mosquitto-passwd.sh, mounted at /ioc/). It lives in the container's
# own filesystem, so a recreated container (for example after a password changed in .env)
# generates it afresh. Then it hands over to the command (mosquitto -c ...).
#
# Unlike the image's own entry point it does not chown -R /mosquitto: the configuration is
# bind-mounted read-only from the repository, and only the password file and the data volume
# need to belong to the mosquitto user.
set -eu

passwd_file=/mosquitto/config/passwd

if [ ! -s "$passwd_file" ]; then
    sh /ioc/make-mosquitto-passwd.sh --no-env-file --acl /mosquitto/config/acl "$passwd_file"
fi

if [ "$(id -u)" = 0 ]; then
    chown mosquitto:mosquitto "$passwd_file" /mosquitto/data
    chmod 0600 "$passwd_file"
    # A data volume restored from elsewhere may carry another owner.
    chown -R mosquitto:mosquitto /mosquitto/data
fi

exec "$@"
