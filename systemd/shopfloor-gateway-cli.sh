#!/bin/sh
# /usr/local/bin/shopfloor-gateway: runs the CLI as the service runs — as user
# shopfloor-gateway (files it creates in the database folder stay the service's), in
# /var/lib/shopfloor-gateway, with the secrets and config of /etc/shopfloor-gateway.
# (The three folders can be moved with SHOPFLOOR_GATEWAY_ETC/_STATE/_APP, for tests.)
set -eu
ETC=${SHOPFLOOR_GATEWAY_ETC:-/etc/shopfloor-gateway}
STATE=${SHOPFLOOR_GATEWAY_STATE:-/var/lib/shopfloor-gateway}
APP=${SHOPFLOOR_GATEWAY_APP:-/opt/shopfloor-gateway}
if [ -r "$ETC/secrets.env" ]; then
  # Read as systemd reads an EnvironmentFile: KEY=VALUE lines, one pair of surrounding
  # quotes dropped, nothing executed (a secret may well contain ; $ & or quotes).
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in '' | '#'* | ';'*) continue ;; esac
    key=${line%%=*}
    value=${line#*=}
    case $key in '' | [0-9]* | *[!A-Za-z0-9_]*) continue ;; esac
    case $value in
      \"*\") value=${value#\"}; value=${value%\"} ;;
      \'*\') value=${value#\'}; value=${value%\'} ;;
    esac
    export "$key=$value"
  done <"$ETC/secrets.env"
fi
case " $* " in
  *" --config"*) ;;
  *) set -- "$@" --config "$ETC/gateway.yaml" ;;
esac
cd "$STATE"
if [ "$(id -u)" = 0 ]; then
  exec runuser -u shopfloor-gateway -- "$APP/bin/shopfloor-gateway.js" "$@"
fi
exec "$APP/bin/shopfloor-gateway.js" "$@"
