#!/bin/sh
# /usr/local/bin/shopfloor-gateway: runs the CLI as the service runs — as user
# shopfloor-gateway (files it creates in the database folder stay the service's), in
# /var/lib/shopfloor-gateway, with the secrets and config of /etc/shopfloor-gateway.
set -eu
if [ -r /etc/shopfloor-gateway/secrets.env ]; then
  set -a
  . /etc/shopfloor-gateway/secrets.env
  set +a
fi
case " $* " in
  *" --config"*) ;;
  *) set -- "$@" --config /etc/shopfloor-gateway/gateway.yaml ;;
esac
cd /var/lib/shopfloor-gateway
if [ "$(id -u)" = 0 ]; then
  exec runuser -u shopfloor-gateway -- /opt/shopfloor-gateway/bin/shopfloor-gateway.js "$@"
fi
exec /opt/shopfloor-gateway/bin/shopfloor-gateway.js "$@"
