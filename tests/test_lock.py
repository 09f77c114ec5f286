"""requirements-lock.txt agrees with pyproject.toml (no network needed).

The lock pins every dependency of ``genzoo[test]``, direct and transitive, for the CPU test
environment; README's set-up command and .ci/run install from it. These tests fail when someone
changes the dependencies in pyproject.toml without refreshing the lock (the command is the
lock's first lines and README's), or when a refresh let CUDA packages in.

The installed versions are compared with the lock only under CI (CI=true): .ci/run has just
installed the lock there, so a difference means the install step did not apply it. A developer's
own environment may legitimately differ (README: a CUDA build of torch on a GPU machine, or
genzoo installed into another project with pyproject's ranges only), and failing there would
test the machine, not the code.
"""

from __future__ import annotations

import os
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements-lock.txt"
PYPROJECT = ROOT / "pyproject.toml"
README = ROOT / "README.md"

# uv writes "name==version", then indented "# via ..." lines; options such as --find-links.
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*(?:#.*)?$")
CUDA_PACKAGE = re.compile(r"^(nvidia-|triton|cuda|cupy|pytorch-triton)")


def _pyproject() -> dict:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


def _direct_requirements() -> list[Requirement]:
    project = _pyproject()["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    reqs += [Requirement(r) for r in project["optional-dependencies"]["test"]]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": "test"})]


def _lock() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for number, raw in enumerate(LOCK.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("-"):
            continue  # comments, "# via" annotations, options such as --find-links
        match = PIN.match(line)
        assert match, f"requirements-lock.txt:{number}: not an exact pin (name==version): {raw!r}"
        name = canonicalize_name(match[1])
        assert name not in pins, f"requirements-lock.txt:{number}: {name} is pinned twice"
        pins[name] = Version(match[2])
    return pins


def _refresh_command() -> str:
    lines = LOCK.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines[:5]):
        if "via the following command" in line:
            return lines[i + 1].lstrip("#").strip()
    raise AssertionError("requirements-lock.txt does not start with the command that wrote it")


def test_every_direct_dependency_is_pinned_within_its_range():
    pins = _lock()
    problems = []
    for req in _direct_requirements():
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req} is not in the lock")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{req} but the lock pins {name}=={pins[name]}")
    assert not problems, (
        "requirements-lock.txt has drifted from pyproject.toml; refresh it with the command on its "
        "first lines:\n  " + "\n  ".join(problems)
    )


def test_lock_has_torch_cpu_build_and_no_cuda_packages():
    pins = _lock()
    cuda = sorted(name for name in pins if CUDA_PACKAGE.match(name))
    assert not cuda, f"the CPU lock must not contain CUDA packages: {cuda}"
    torch = pins.get("torch")
    assert torch is not None, "the lock does not pin torch"
    assert torch.public == "2.13.0" and torch.local == "cpu", (
        f"the lock pins torch=={torch}; it must be the CPU build 2.13.0+cpu"
    )
    # The pin comes from pyproject's [tool.uv] constraint; the two must say the same release.
    constraints = [Requirement(r) for r in _pyproject()["tool"]["uv"]["constraint-dependencies"]]
    for req in constraints:
        name = canonicalize_name(req.name)
        assert name in pins and req.specifier.contains(pins[name], prereleases=True), (
            f"pyproject's [tool.uv] constraint {req} disagrees with the lock's "
            f"{name}=={pins.get(name)}"
        )


def test_lock_has_packaging_for_these_tests():
    # These tests parse versions with packaging; it comes in through pytest.
    assert "packaging" in _lock()


def test_refresh_command_is_documented_and_complete():
    command = _refresh_command()
    for part in (
        "uv pip compile pyproject.toml",
        "--extra test",
        "--find-links /opt/wheels",
        "-o requirements-lock.txt",
    ):
        assert part in command, f"the lock's refresh command lacks {part!r}: {command}"
    assert command in README.read_text(encoding="utf-8"), (
        f"README.md does not give the lock's refresh command: {command}"
    )


def test_installed_versions_fit_pyproject_and_under_ci_are_the_locked_ones():
    """Everywhere: the installed direct dependencies satisfy pyproject's ranges (a developer's own
    environment, a CUDA torch on a GPU machine, may differ from the lock, but not from the ranges).
    Under CI (CI=true), which has just installed the lock, every locked package is at its pin."""
    wrong = []
    for req in _direct_requirements():
        try:
            installed = Version(metadata.version(req.name))
        except metadata.PackageNotFoundError:
            wrong.append(f"{req.name}: not installed (pyproject: {req})")
            continue
        if not req.specifier.contains(installed, prereleases=True):
            wrong.append(f"{req.name}: installed {installed} outside pyproject's {req}")
    if os.environ.get("CI") == "true":
        for name, pinned in sorted(_lock().items()):
            try:
                installed = Version(metadata.version(name))
            except metadata.PackageNotFoundError:
                wrong.append(f"{name}: not installed (lock: {pinned})")
                continue
            if installed != pinned:
                wrong.append(f"{name}: installed {installed}, lock {pinned}")
    assert not wrong, "the environment does not match:\n  " + "\n  ".join(wrong)
