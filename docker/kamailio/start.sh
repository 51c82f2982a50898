#!/bin/sh
# Runs Kamailio on the configuration the hotline service renders into the shared volume
# (docker-compose.nodes.yml), in the foreground, with its own runtime directory there.
set -eu

dir="${HOTLINE_PROXY_DIR:-/var/lib/hotline/asterisk/proxy}"
conf="$dir/kamailio.cfg"

seconds=0
while [ ! -f "$conf" ]; do
  if [ $((seconds % 30)) -eq 0 ]; then
    echo "hotline-kamailio: waiting for the hotline service to render $conf"
  fi
  sleep 1
  seconds=$((seconds + 1))
done

mkdir -p "$dir/run"
echo "hotline-kamailio: starting Kamailio on $conf"
exec /usr/sbin/kamailio -DD -E -f "$conf" -Y "$dir/run" -P "$dir/run/kamailio.pid"
