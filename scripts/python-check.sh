#!/usr/bin/env bash
# Finds a Python >= 3.12 (the .python-version file selects one under pyenv).
# With --print, prints its path; otherwise checks and explains.
set -euo pipefail
for candidate in python3.13 python3.12 python3; do
    if path=$(command -v "$candidate" 2>/dev/null) && "$path" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
        [[ "${1:-}" == "--print" ]] && echo "$path"
        exit 0
    fi
done
echo "Ablesung braucht Python 3.12 oder neuer (python3.13 / python3.12 nicht gefunden)." >&2
exit 1
