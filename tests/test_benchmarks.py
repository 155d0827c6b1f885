"""Every benchmark runs in its quick mode without crashing (speed is not asserted: that is RESULTS.md's job)."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = sorted((Path(__file__).parents[1] / "benchmarks").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", BENCH, ids=lambda p: p.stem)
def test_benchmark_quick_mode_runs(script, tmp_path):
    out = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=600,
                         cwd=tmp_path)
    assert out.returncode == 0, f"{script.name} --quick failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    assert out.stdout.strip(), f"{script.name} printed nothing"
    print(out.stdout[-1500:])
