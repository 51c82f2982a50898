"""The long mode of the API's property-based test (tests/unit/test_api_schema.py):
schemathesis with many more examples per operation and per role (viewer, supervisor,
admin), random seeds instead of the default run's fixed ones.

    .venv/bin/python bench/api_fuzz.py [--examples 500]

Writes bench/results/api_fuzz.json (examples, roles, duration, pytest's summary line,
exit status) and exits with pytest's status. 100 examples took 169 s on 2 cores (every
operation, three roles), so 500 is about 15 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench/results/api_fuzz.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=500)
    args = parser.parse_args()
    env = {**os.environ, "HOTLINE_API_EXAMPLES": str(args.examples)}
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/unit/test_api_schema.py"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    result = {
        "measured": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "examples_per_operation_and_role": args.examples,
        "roles": ["viewer", "supervisor", "admin"],
        "seconds": round(time.perf_counter() - started, 1),
        "summary": lines[-1] if lines else "",
        "exit_status": run.returncode,
    }
    print(run.stdout[-5000:])
    print(json.dumps(result, indent=2))
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    raise SystemExit(run.returncode)


if __name__ == "__main__":
    main()
