"""How long the app takes to give its first answer on a fresh server (a new Python process each time).

Streamlit's AppTest runs app.py as a server would: the script is executed from the start, the wizard is taken to its
answer page, and the wall time from process start (imports included) to the rendered answer is printed. The answer
uses the served calibration (data/calibration/SERVED). Target (issue "the serving path"): <= 2 s, with a spinner
when it takes longer than half a second (the answer page wraps recommend() in st.spinner).

Run: .venv/bin/python benchmarks/app_first_answer.py [REPEATS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = """
import time
t0 = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({app!r}, default_timeout=60).run()
first_page = time.perf_counter() - t0
at.session_state["step"] = 3
at.run()
assert not at.exception, at.exception
assert at.dataframe, "no ranking table on the answer page"
print(first_page, time.perf_counter() - t0)
"""


def main(repeats: int = 3) -> None:
    pages, answers = [], []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", CODE.format(app=str(ROOT / "app.py"))], cwd=ROOT,
                             capture_output=True, text=True, check=True)
        page, answer = map(float, out.stdout.split()[-2:])
        pages.append(page)
        answers.append(answer)
    print(f"first page: median {statistics.median(pages):.2f} s; first answer (fresh process, imports included): "
          f"median {statistics.median(answers):.2f} s, max {max(answers):.2f} s over {repeats} runs")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
