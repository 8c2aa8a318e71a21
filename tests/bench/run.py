"""``make bench``: runs every ``tests/bench/bench_*.py`` and prints its report.

Benchmarks report ratios against a raw baseline measured in the same run, and
peak memory; they are never part of ``make test``.
"""

import runpy
import sys
import traceback
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here.parent.parent))  # the checkout, for `tests.bench.*`
    benches = sorted(here.glob("bench_*.py"))
    if not benches:
        print("No benchmarks yet: they arrive with the import, plausibility and portal issues.")
        return 0
    failed = []
    for bench in benches:
        print(f"== {bench.stem} ==", flush=True)
        try:
            runpy.run_path(str(bench), run_name="__main__")
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            failed.append(bench.stem)
        except SystemExit as stop:
            if stop.code not in (None, 0):
                failed.append(bench.stem)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
