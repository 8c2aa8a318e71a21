"""``make bench``: runs every ``tests/bench/bench_*.py`` and prints its report.

Benchmarks report ratios against a raw baseline measured in the same run, and
peak memory; they are never part of ``make test``.
"""

import runpy
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here.parent.parent))  # the checkout, for `tests.bench.*`
    benches = sorted(here.glob("bench_*.py"))
    if not benches:
        print("No benchmarks yet: they arrive with the import, plausibility and portal issues.")
        return 0
    for bench in benches:
        print(f"== {bench.stem} ==", flush=True)
        runpy.run_path(str(bench), run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
