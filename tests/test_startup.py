"""`genzoo list` and `genzoo --help` import nothing heavy they do not need (issue 22: fast start).

Not a timing test: a fresh interpreter runs the command and reports which heavy modules got
imported. scipy.optimize alone cost 0.65 s of `genzoo list` when one metric imported it at module level.
"""

import json
import subprocess
import sys

import pytest

HEAVY = ("scipy", "sklearn", "matplotlib", "ot", "torchvision", "PIL")

PROBE = """
import contextlib, io, json, runpy, sys
sys.argv = ["genzoo", *{args!r}]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        runpy.run_module("genzoo", run_name="__main__")
    except SystemExit:
        pass
print(json.dumps([m for m in {heavy!r} if m in sys.modules]))
"""


@pytest.mark.parametrize("args", [["list"], ["--help"]])
def test_cli_start_imports_no_heavy_module(args):
    out = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
                         capture_output=True, text=True, check=True, timeout=300)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
