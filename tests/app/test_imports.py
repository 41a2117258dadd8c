"""The first page a person sees draws without loading torch (the server imports it in the
background meanwhile, see ui/warmup.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("pages/data.py", default_timeout=120)
at.session_state["dataset"] = "demo"
at.run()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "sklearn", "scipy"))
print(json.dumps({"errors": [str(e.value) for e in at.exception], "metrics": len(at.metric),
                  "heavy": heavy[:5]}))
"""


def test_the_data_page_draws_without_importing_torch():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["errors"] == [] and found["metrics"] >= 3   # the page drew its numbers
    assert found["heavy"] == []
