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
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing ${need_apt[*]}; run as root or install them: apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${need_apt[*]}"
  apt-get update -q >/dev/null
  # the packaged prometheus must not start a system service of its own
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
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
