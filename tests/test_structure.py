"""The code's shape stays as the spine issue left it: no import cycle, a data layer that imports nothing above
it, no module over 400 lines and no function over 80 (scripts/check_structure.py prints all four)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_structure.py"


@pytest.mark.quick
def test_no_cycle_no_upward_import_no_long_module_or_function():
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    counts = {line.split(":")[0]: int(line.split(":")[1]) for line in done.stdout.splitlines()
              if not line.startswith(" ") and ":" in line}
    assert len(counts) == 5, done.stdout          # every check printed its count
    assert done.returncode == 0 and set(counts.values()) == {0}, done.stdout
