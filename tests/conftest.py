import json
import os

import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic_threads():
    """Tests share 2 cores; one intra-op thread keeps them predictable and fast.

    ``GENZOO_TEST_THREADS=N`` runs them on N threads instead: another numeric path (reductions split
    differently), which the margin measurements (``scripts/test-margins``) and CI's second run use.
    """
    from genzoo import run

    before = torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get("GENZOO_TEST_THREADS", "1")))
    run._rule_threads = None  # this count is the test's choice: genzoo's thread rule must keep it
    yield
    torch.set_num_threads(before)


if os.environ.get("GENZOO_MARGINS"):
    # Margin measurement (scripts/test-margins): record every passing assertion's explanation, so
    # the values a learning test compares with its threshold can be gathered across numeric paths
    # and seeds. Defined only when asked for: pytest formats explanations only if a hook exists.
    def pytest_assertion_pass(item, lineno, orig, expl):  # noqa: D103 — pytest hook
        record = {"test": item.nodeid, "line": lineno, "orig": orig, "expl": expl.split("\n")[0][:400]}
        with open(os.environ["GENZOO_MARGINS"], "a") as f:
            f.write(json.dumps(record) + "\n")

    def pytest_runtest_logreport(report):  # noqa: D103 — pytest hook
        if report.failed:
            with open(os.environ["GENZOO_MARGINS"], "a") as f:
                f.write(json.dumps({"test": report.nodeid, "failed": True}) + "\n")
