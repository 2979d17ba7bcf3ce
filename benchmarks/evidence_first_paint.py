"""Seconds until the Evidence page has run once (issue 24: first paint <= 3 s; it was 7.6 s).

Streamlit's AppTest runs the script as the server does, minus the browser: the figure is the server's share of
the first paint (loading the store, fitting nothing, building the charts). Cold = a fresh process (no cache);
warm = the same page again in that process (st.cache_data hits). Prints both and the machine's load.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

APP = str(Path(__file__).resolve().parent.parent / "app.py")
ONE = f"""
import time
from streamlit.testing.v1 import AppTest
t = time.perf_counter()
at = AppTest.from_file({APP!r}, default_timeout=120)
at.session_state["page"] = "Evidence"
at.run()
cold = time.perf_counter() - t
assert not at.exception, at.exception
assert any("Benchmark evidence" in h.value for h in at.header)
t = time.perf_counter()
at.run()
print(cold, time.perf_counter() - t)
"""


def main() -> None:
    colds, warms = [], []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", ONE], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONWARNINGS": "ignore"}).stdout.split()
        colds.append(float(out[-2]))
        warms.append(float(out[-1]))
    print(f"Evidence page, cold (fresh process): median {statistics.median(colds):.2f} s, max {max(colds):.2f} s "
          f"over {len(colds)} runs (target <= 3 s)")
    print(f"Evidence page, warm (cached store): median {statistics.median(warms):.2f} s")
    print(f"load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
