#!/usr/bin/env bash
# Installs shopfloor-gateway as a systemd service on Debian / Raspberry Pi OS, from this
# checkout. Run it again to upgrade: the application is replaced, the configuration in
# /etc/shopfloor-gateway and the data in /var/lib/shopfloor-gateway are kept.
#
#   sudo systemd/install.sh            install or upgrade
#   systemd/install.sh --dry-run       print what it would do, change nothing
set -euo pipefail

NAME=shopfloor-gateway
APP=/opt/$NAME
ETC=/etc/$NAME
STATE=/var/lib/$NAME
UNIT=/etc/systemd/system/$NAME.service
CLI=/usr/local/bin/$NAME
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# What the application needs at run time; tests, data and node_modules stay behind.
# scripts/ and tsconfig.json build dist/ there (npm ci runs the prepare script, with esbuild).
APP_FILES=(bin src scripts tsconfig.json package.json package-lock.json README.md ARCHITECTURE.md docs)

DRY_RUN=0
usage() { sed -n '2,8s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
for arg in "$@"; do
  case $arg in
    -n | --dry-run) DRY_RUN=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
# A problem that stops a real install; a dry run shows it and goes on, to show the rest too.
stop() {
  if [ "$DRY_RUN" = 1 ]; then printf '    would stop: %s\n' "$*"; else die "$*"; fi
}
# Runs a command, or with --dry-run only shows it.
run() {
  if [ "$DRY_RUN" = 1 ]; then printf '    would run:'; printf ' %q' "$@"; printf '\n'; else "$@"; fi
}
# Writes stdin to a file with a mode and owner, atomically; with --dry-run only says so.
write_file() {
  local path=$1 mode=$2 owner=$3
  if [ "$DRY_RUN" = 1 ]; then
    printf '    would write: %s (mode %s, owner %s)\n' "$path" "$mode" "$owner"
    cat >/dev/null
    return
  fi
  (umask 077 && cat >"$path.tmp")
  chown "$owner" "$path.tmp"
  chmod "$mode" "$path.tmp"
  mv "$path.tmp" "$path"
}

# ------------------------------------------------------------------ checks
[ "$DRY_RUN" = 1 ] || [ "$(id -u)" = 0 ] || die "run as root (sudo $0), or with --dry-run"
[ -f "$SRC/package-lock.json" ] && [ -x "$SRC/bin/$NAME.js" ] || die "$SRC is not a $NAME checkout"
command -v node >/dev/null || die "Node.js is not installed: install Node 24 (or 22.19 or newer; NodeSource or Debian's nodejs package)"
command -v npm >/dev/null || die "npm is not installed (Debian: apt install npm)"
# package.json engines: Node 22.19+ (undici 8) or 24.
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 19) ? 0 : 1)' ||
  stop "Node $(node --version) is too old: $NAME needs Node 24, or 22.19 or newer"
# systemd starts the service with PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin.
case $(dirname "$(command -v node)") in
  /usr/local/sbin | /usr/local/bin | /usr/sbin | /usr/bin | /sbin | /bin) ;;
  *) stop "node is at $(command -v node), where systemd will not find it (nvm?): install Node system-wide, or link it into /usr/local/bin" ;;
esac
command -v systemctl >/dev/null || die "systemctl not found: this installer needs systemd"
say "Node $(node --version) at $(command -v node); installing from $SRC"

# ------------------------------------------------------------------ user
if getent passwd "$NAME" >/dev/null; then
  say "user $NAME exists"
  id -nG "$NAME" | tr ' ' '\n' | grep -qx dialout || run usermod -a -G dialout "$NAME"
else
  say "creating system user $NAME (groups: $NAME, dialout for serial ports)"
  run useradd --system --user-group --groups dialout --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin "$NAME"
fi

# ------------------------------------------------------------------ application
# Built beside the running copy and swapped in at the end: a failed npm ci leaves the old one working.
say "copying the application to $APP"
run rm -rf "$APP.new"
run install -d -m 0755 "$APP.new"
for item in "${APP_FILES[@]}"; do
  if [ -e "$SRC/$item" ]; then run cp -R -p "$SRC/$item" "$APP.new/"; fi
done
say "installing dependencies and bundling the JavaScript (better-sqlite3 compiles only where it has no prebuilt binary, e.g. 32-bit ARM: needs build-essential and python3)"
run env -C "$APP.new" npm ci --no-audit --no-fund
# The bundler and test tools were needed for the build only.
run env -C "$APP.new" npm prune --omit=dev --no-audit --no-fund
run chown -R root:root "$APP.new"
if [ -d "$APP" ]; then run rm -rf "$APP.old"; run mv "$APP" "$APP.old"; fi
run mv "$APP.new" "$APP"
run rm -rf "$APP.old"

# ------------------------------------------------------------------ configuration
say "configuration in $ETC"
run install -d -m 0755 -o root -g root "$ETC"
if [ -e "$ETC/gateway.yaml" ]; then
  say "keeping $ETC/gateway.yaml"
  if grep -q '^simulate:' "$ETC/gateway.yaml"; then say "WARNING: $ETC/gateway.yaml has a simulate: block (demo only): delete it for a plant"; fi
else
  write_file "$ETC/gateway.yaml" 0640 "root:$NAME" <"$SRC/systemd/gateway.production.yaml"
fi
if [ -e "$ETC/secrets.env" ]; then
  say "keeping $ETC/secrets.env (mode set to 0600, root only)"
  run chown root:root "$ETC/secrets.env"
  run chmod 0600 "$ETC/secrets.env"
else
  write_file "$ETC/secrets.env" 0600 root:root <<'EOF'
# Read by systemd when it starts shopfloor-gateway (EnvironmentFile=); root only.
# gateway.yaml refers to these as ${PRODSMART_API_KEY} and ${PRODSMART_API_SECRET}.
PRODSMART_API_KEY=
PRODSMART_API_SECRET=
# SHOPFLOOR_WEB_TOKEN=
# REDIS_PASSWORD=
EOF
fi
# The service may write device files (commissioning saves them, docs/commissioning.md); the examples stay root's.
run install -d -m 0770 -o root -g "$NAME" "$ETC/devices"
run install -d -m 0750 -o root -g "$NAME" "$ETC/devices/examples"
for example in "$SRC"/devices/examples/*.yaml; do
  if [ -e "$example" ]; then run install -m 0640 -o root -g "$NAME" "$example" "$ETC/devices/examples/"; fi
done
run install -d -m 0750 -o "$NAME" -g "$NAME" "$STATE"

# ------------------------------------------------------------------ service
say "installing $UNIT and $CLI"
run install -m 0755 "$SRC/systemd/$NAME-cli.sh" "$CLI"
run install -m 0644 "$SRC/systemd/$NAME.service" "$UNIT"
run systemctl daemon-reload
run systemctl enable "$NAME.service"
if systemctl is-active --quiet "$NAME.service" 2>/dev/null; then
  say "restarting the running service on the new version"
  run systemctl restart "$NAME.service"
else
  cat <<EOF
==> installed and enabled, not started. Next:
    1. put the MES API key and secret in $ETC/secrets.env
    2. describe your PLCs in $ETC/devices/*.yaml (examples in $ETC/devices/examples/)
    3. sudo $NAME validate
    4. sudo systemctl start $NAME && journalctl -u $NAME -f
    status page: http://127.0.0.1:8080/ on this machine
EOF
fi
