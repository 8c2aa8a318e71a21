import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def test_the_package_does_not_import_django() -> None:
    code = (
        "import sys; import ablesung.plausibility as p; "
        "import ablesung.plausibility.estimates, ablesung.plausibility.swap; "
        "assert p.check_reading; "
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC)},
    )
    assert completed.stdout.strip() == "[]"
