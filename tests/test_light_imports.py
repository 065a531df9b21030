"""What importing scoqa costs: the records every stage passes on, and every module but the chat
server's, load neither torch nor gradio (a model loads them when it is first used). A unit
test run checks the same of itself (tests/conftest.py)."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import HEAVY, REPO

# app.serve is the chat server: gradio is what it is made of.
SCRIPT = """
import json, pkgutil, sys, importlib
import scoqa
names = sorted(m.name for m in pkgutil.walk_packages(scoqa.__path__, "scoqa.") if m.name != "scoqa.app.serve")
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "heavy": sorted(set(sys.modules) & set(HEAVY))}))
"""


def test_importing_scoqa_loads_no_torch_or_gradio():
    result = subprocess.run([sys.executable, "-c", f"HEAVY = {list(HEAVY)!r}\n{SCRIPT}"], capture_output=True,
                            text=True, cwd=REPO, timeout=120, check=True)
    found = json.loads(result.stdout)
    assert {"scoqa.records", "scoqa.answer.lists", "scoqa.answer.reader", "scoqa.answer.assistant",
            "scoqa.index.registry", "scoqa.app.cli"} <= set(found["modules"])
    assert found["heavy"] == []
