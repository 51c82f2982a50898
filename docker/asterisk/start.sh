#!/bin/sh
# Runs Asterisk on the configuration the hotline service renders into the shared volume
# (docker-compose.yml). Until the first render there is nothing to run: wait for it.
set -eu

dir="${HOTLINE_ASTERISK_DIR:-/var/lib/hotline/asterisk}"
conf="$dir/etc/asterisk.conf"

seconds=0
while [ ! -f "$conf" ]; do
  if [ $((seconds % 30)) -eq 0 ]; then
    echo "hotline-asterisk: waiting for the hotline service to render $conf"
  fi
  sleep 1
  seconds=$((seconds + 1))
done

echo "hotline-asterisk: starting Asterisk on $conf"
exec /usr/sbin/asterisk -f -U hotline -G hotline -C "$conf"
