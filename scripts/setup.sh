#!/usr/bin/env bash
# Installs everything the hotline and its tests need on a Debian machine (as root):
# Debian packages, the Python virtualenv with the project, and the cached Asterisk root.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
command -v sipp >/dev/null || need_apt+=(sip-tester)
command -v prometheus >/dev/null || need_apt+=(prometheus)
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v espeak-ng >/dev/null || need_apt+=(espeak-ng)
command -v sox >/dev/null || need_apt+=(sox)
command -v tcpdump >/dev/null || need_apt+=(tcpdump)  # bench/caller_hears.py: loopback capture
python3 -c "import venv, ensurepip" 2>/dev/null || need_apt+=(python3-venv)
# report documents: pdftoppm/pdftotext (tests), a CJK font, what weasyprint loads (pango)
command -v pdftoppm >/dev/null || need_apt+=(poppler-utils)
fc-list 2>/dev/null | grep -q "Noto Sans CJK" || need_apt+=(fonts-noto-cjk fontconfig)
ldconfig -p | grep -q libpangoft2-1.0 || need_apt+=(libpango-1.0-0 libpangoft2-1.0-0)
ldconfig -p | grep -q libharfbuzz-subset || need_apt+=(libharfbuzz-subset0)
# the wallboard's browser test: Debian's chromium and its driver, nothing downloaded
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
# the SIP proxy in front of several Asterisk nodes (dispatcher, OPTIONS health checks);
# the hotline runs its own kamailio with its own config, never the packaged service
command -v kamailio >/dev/null || [ -x /usr/sbin/kamailio ] || need_apt+=(kamailio)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing ${need_apt[*]}; run as root or install them: apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${need_apt[*]}"
  apt-get update -q >/dev/null
  # the packaged prometheus and kamailio must not start system services of their own
  # (kamailio's would take port 5060): invoke-rc.d asks policy-rc.d, 101 = "not now"
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && own_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT  # gone again even if the install fails
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
  if [ -n "$own_policy" ]; then rm -f "$policy"; trap - EXIT; fi
fi
# a packaged kamailio service never runs here: stopped and disabled if it was set up
if [ -e /lib/systemd/system/kamailio.service ] || [ -e /etc/init.d/kamailio ]; then
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now kamailio >/dev/null 2>&1 || true
  else
    rm -f /etc/systemd/system/multi-user.target.wants/kamailio.service
    command -v update-rc.d >/dev/null && update-rc.d kamailio disable >/dev/null 2>&1 || true
  fi
fi

stamp=.venv/.hotline-installed
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing the Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[dev]'
  touch "$stamp"
fi

# The Asterisk 22 root (Debian sid) is built once and cached under ~/.cache/hotline.
.venv/bin/hotline asterisk provision
