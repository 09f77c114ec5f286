"""Quick means quick (issue 24): a --quick run checks that a benchmark runs, in minutes, never over full results."""

from __future__ import annotations

from genzoo.bench import SPECS, default_out
from genzoo.bench import suite


def test_quick_suite_cells_use_the_default_evaluation_and_keep_the_spec_hash():
    spec = suite.load_spec(SPECS / "stacked-mnist.toml")
    full = suite.cells(spec, quick=False, options={})
    quick = suite.cells(spec, quick=True, options={})
    assert {c["evaluate"]["full"] for c in full} == {True}  # the reported protocol is untouched
    assert {c["evaluate"]["full"] for c in quick} == {False}  # 26 000 samples + FID on 10 000: not in a quick check
    assert {c["steps"] for c in quick} == {40} and len(quick) == len(spec["models"])
    # the quick evaluation is code, not spec: the spec's hash (the committed report's identity) is unchanged
    assert suite.identity(spec, True, {})["spec_sha256"] == suite.identity(spec, False, {})["spec_sha256"]


def test_quick_results_go_to_their_own_directory():
    assert default_out("fgan-1d", quick=True).name == "fgan-1d-quick"
    assert default_out("fgan-1d", quick=False).name == "fgan-1d"
