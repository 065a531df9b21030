"""What importing scoqa costs: the records every stage passes on, and every module but the chat
server's, load neither torch nor gradio (a model loads them when it is first used). A unit
test run checks the same of itself (tests/conftest.py). The chat's page is served before any
model library is imported: `scoqa serve` imports torch only to load the models behind it."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import HEAVY, REPO, free_port

# app.serve is the chat server: gradio is what it is made of.
SCRIPT = """
import json, pkgutil, sys, importlib
import scoqa
names = sorted(m.name for m in pkgutil.walk_packages(scoqa.__path__, "scoqa.") if m.name != "scoqa.app.serve")
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "heavy": sorted(set(sys.modules) & set(HEAVY))}))
"""

# What loading the embedder and the reader imports; seconds each on 2 busy cores.
MODEL_LIBRARIES = ("torch", "transformers", "sentence_transformers", "peft")

# `scoqa serve`'s path to its page (app.cli's `_serve`), with a loader that never finishes:
# the page must come up, saying it is starting, with no model library imported.
SERVE_SCRIPT = """
import json, sys, threading
import httpx
from scoqa.app import cli  # the start path: `scoqa serve` is this module
from scoqa.app.serve import serve
from scoqa.app.workspace import Workspace

never = threading.Event()
served = serve(Workspace(lambda note: never.wait(), watch=False), port=PORT, block=False)
page = httpx.get(served.url, timeout=60)
state = served.workspace.status().state
served.close()
print(json.dumps({"page": page.status_code, "state": state, "loaded": sorted(set(sys.modules) & set(MODELS))}))
"""


def test_importing_scoqa_loads_no_torch_or_gradio():
    result = subprocess.run([sys.executable, "-c", f"HEAVY = {list(HEAVY)!r}\n{SCRIPT}"], capture_output=True,
                            text=True, cwd=REPO, timeout=120, check=True)
    found = json.loads(result.stdout)
    assert {"scoqa.records", "scoqa.answer.lists", "scoqa.answer.reader", "scoqa.answer.assistant",
            "scoqa.index.registry", "scoqa.app.cli"} <= set(found["modules"])
    assert found["heavy"] == []


@pytest.mark.service  # it imports gradio and serves the page
def test_the_page_is_served_before_any_model_library_is_imported():
    result = subprocess.run([sys.executable, "-c", f"MODELS = {list(MODEL_LIBRARIES)!r}\nPORT = {free_port()}\n{SERVE_SCRIPT}"],
                            capture_output=True, text=True, cwd=REPO, timeout=300, check=True)
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found == {"page": 200, "state": "loading", "loaded": []}
