#!/usr/bin/env bash
# README command 2: set up everything, then lint, type-check and run the whole test suite
# (unit tests, and integration tests that place real SIP calls through Asterisk).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# Run the store tests on PostgreSQL too when one answers on 127.0.0.1:5432.
if [ -z "${HOTLINE_TEST_DATABASE_URL:-}" ] && command -v pg_isready >/dev/null \
   && pg_isready -q -h 127.0.0.1 -p 5432; then
  export HOTLINE_TEST_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
fi
.venv/bin/ruff check ivr metrics agi_scripts tests bench
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/pytest -q -ra "$@"
