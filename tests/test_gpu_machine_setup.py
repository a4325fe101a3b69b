"""The GPU tests run on a machine that has torch and pytest but none of the site's packages (the lent
GPU machine): the shared test set-up must not need MkDocs, bibtexparser or the browser to be collected."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BLOCKER = """\
import importlib.abc, sys
BLOCKED = {"bibtexparser", "mkdocs", "jinja2", "yaml", "playwright", "material", "pymdownx", "markdown"}
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _Block())
"""


def test_the_gpu_tests_are_collected_and_run_without_the_sites_packages(tmp_path: Path) -> None:
    (tmp_path / "no_site_packages.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    env.pop("PYTEST_XDIST_WORKER", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no_site_packages", "-p", "no:cacheprovider", "-p", "no:xdist",
         "tests/test_harness_gpu.py", "tests/test_harness_eval.py::test_unknown_baselines_are_refused_naming_those_known"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "site fixtures unavailable: no module named" in out, out[-2000:]  # said once, in the header
    # On a GPU machine the GPU tests run too; without one they skip: either way the CPU test passed.
    assert re.search(r"\b\d+ passed", out), out[-2000:]
