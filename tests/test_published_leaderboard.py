"""The KernelBench leaderboard importer: one kernel per (problem, model) from a checkout or the URL of its
raw files, absent files reported as rows, bad input named by file and field, and an end-to-end audit on
the CPU path whose ledger the site reads. The leaderboards here are fixtures written in its format."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_run import repro_in_process
from http_serve import serve_directory

from repro.published.releases import ReleaseError, load_release, read_leaderboard, repository_commit
from repro.records import published_ledger as L
from repro.runners.gauntlet import kernel_source
from site_gen.site.published import ledger_csv, load_published

ROOT = Path(__file__).parents[1]
KERNELS = ROOT / "repro" / "gauntlet" / "kernels"
REF = '''import torch
from torch import nn


class Model(nn.Module):
    """Applies tanh elementwise."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x)


def get_inputs():
    return [torch.randn(8, 64)]


def get_init_inputs():
    return []
'''


def sol(model: str, speedup: float | None, file: str) -> dict:
    return {"display_name": model, "torch_speedup": speedup, "file": file}


def leaderboard(root: Path, data: dict | str, problems: dict[str, str], solutions: dict[str, str],
                git: bool = True) -> Path:  # fmt: skip
    """A leaderboard checkout: docs/assets/{data.json, problems/, solutions/}, committed if `git`."""
    assets = root / "docs" / "assets"
    (assets / "problems").mkdir(parents=True)
    (assets / "solutions").mkdir(parents=True)
    (assets / "data.json").write_text(data if isinstance(data, str) else json.dumps(data))
    for name, text in problems.items():
        (assets / "problems" / f"{name}.py").write_text(text)
    for name, text in solutions.items():
        (assets / "solutions" / f"{name}.py").write_text(text)
    if git:
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
        for cmd in (["init", "-q"], ["remote", "add", "origin", "git@github.com:someone/Leaderboard.git"],
                    ["add", "-A"], ["commit", "-q", "-m", "fixture"]):  # fmt: skip
            subprocess.run(["git", "-C", str(root), *cmd], check=True, env=env, capture_output=True)
    return root


DATA = {
    "Level 1: 19_ReLU": [sol("model-a", 2.5, "aaa"), sol("model-b", 1.1, "bbb"), sol("model-c", 0.9, "ccc")],
    "Level 1: 20_LeakyReLU": [],
    "Level 2: 3_Conv_ReLU": [sol("model-a", 1.25, "ddd")],
}


def fixture_checkout(root: Path) -> Path:
    # ccc's solution and l2_p3's problem are listed but absent.
    return leaderboard(root, DATA, {"l1_p19": REF, "l1_p20": REF}, {"aaa": "A", "bbb": "B", "ddd": "D"})


def test_one_kernel_per_problem_and_model_with_claims_and_source(tmp_path: Path) -> None:
    root = fixture_checkout(tmp_path / "lb")
    rel = load_release("kernelbench-leaderboard", root)
    assert [k.task for k in rel.kernels] == [
        "level1/19/model-a",
        "level1/19/model-b",
        "level1/19/model-c",
        "level1/20",
        "level2/3/model-a",
    ]
    a, b, c, none, d = rel.kernels
    assert (a.kernel_source, a.problem_source, a.model, a.level, a.name) == (
        "A",
        REF,
        "model-a",
        1,
        "19_ReLU",
    )
    assert a.origin == "docs/assets/solutions/aaa.py"
    h = a.headline
    assert h is not None and (h.metric, h.value, h.baseline, h.gpu) == ("speedup", 2.5, "eager", "L40S")
    assert (h.paper, h.benchmark_version) == ("arXiv:2502.10517", "KernelBench v0")
    assert h.where == "leaderboard 'Level 1: 19_ReLU', rank 1" and b.headline.where.endswith("rank 2")
    # Listed but absent: no kernel, and why, naming the file.
    assert (
        c.kernel_source is None
        and c.missing == "solution file docs/assets/solutions/ccc.py is missing from the leaderboard"
    )
    assert d.kernel_source is None and "problem file docs/assets/problems/l2_p3.py is missing" in d.missing
    assert none.kernel_source is None and none.model == "" and "no correct solution" in none.missing
    info = rel.info()
    assert info["format"] == "kernelbench-leaderboard" and info["gpu"] == "L40S" and info["problems"] == 3
    assert info["repository"] == "someone/Leaderboard" and len(info["commit"]) == 40
    assert info["models"] == ["model-a", "model-b", "model-c"] and len(info["missing_sources"]) == 2
    # The same leaderboard given as its docs/ folder, its assets/ folder or data.json: the same release.
    for other in (root / "docs", root / "docs" / "assets", root / "docs" / "assets" / "data.json"):
        again = read_leaderboard(other)
        assert again.sha256 == rel.sha256 and [k.task for k in again.kernels] == [k.task for k in rel.kernels]
    # A changed solution is a different release (the ledger refuses to mix them).
    (root / "docs" / "assets" / "solutions" / "aaa.py").write_text("A2")
    assert read_leaderboard(root).sha256 != rel.sha256


def test_leaderboard_over_http_loopback_and_commit_from_the_url(tmp_path: Path) -> None:
    root = fixture_checkout(tmp_path / "lb")
    with serve_directory(root) as url:
        rel = load_release("kernelbench-leaderboard", url + "/", commit="e" * 40)
        local = read_leaderboard(root)
        assert rel.sha256 == local.sha256 and [k.kernel_source for k in rel.kernels] == [
            k.kernel_source for k in local.kernels
        ]
        assert rel.meta["commit"] == "e" * 40 and rel.kernels[2].missing.startswith("solution file")
        with pytest.raises(ReleaseError, match="no leaderboard data found"):
            read_leaderboard(url + "/docs/assets/problems")
    raw = "https://raw.githubusercontent.com/anneouyang/KernelBenchLeaderboard"
    assert repository_commit(f"{raw}/{'f' * 40}/") == ("anneouyang/KernelBenchLeaderboard", "f" * 40)
    assert repository_commit(f"{raw}/refs/heads/main/") == ("anneouyang/KernelBenchLeaderboard", None)
    assert repository_commit("https://example.org/lb/") == (None, None)


def test_a_checkout_without_git_has_no_commit_unless_given(tmp_path: Path) -> None:
    # A copy without its own history, inside another repository: that repository's commit is not taken.
    leaderboard(tmp_path, {}, {}, {})
    root = leaderboard(tmp_path / "lb", {"Level 1: 19_ReLU": [sol("m", 1.0, "x")]}, {"l1_p19": REF},
                       {"x": "X"}, git=False)  # fmt: skip
    meta = read_leaderboard(root).meta
    assert meta["commit"] is None and meta["repository"] is None
    assert read_leaderboard(root, commit="1" * 40).meta["commit"] == "1" * 40


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("{not json", "data.json: not valid JSON"),
        ("[1, 2]", "data.json: expected an object keyed by problem"),
        ({"19_ReLU": []}, "key '19_ReLU' is not 'Level <L>: <N>_<Name>'"),
        ({"Level 1: 19_ReLU": {"a": 1}}, "'Level 1: 19_ReLU': expected a list of solutions, got dict"),
        ({"Level 1: 19_ReLU": ["x"]}, "'Level 1: 19_ReLU'[0]: expected an object"),
        ({"Level 1: 19_ReLU": [{"display_name": "m", "file": "x"}]}, "[0]: missing field(s) ['torch_speedup']"),
        ({"Level 1: 19_ReLU": [sol("m", "fast", "x")]}, "[0]: torch_speedup must be a number or null, got 'fast'"),
        ({"Level 1: 19_ReLU": [sol("m", 1.0, "../../etc/passwd")]}, "[0]: file '../../etc/passwd' is not a solution name"),
        ({"Level 1: 19_ReLU": [sol(" ", 1.0, "x")]}, "[0]: display_name must name the model"),
        ({"Level 1: 19_ReLU": [sol("m", 1.0, "x"), sol("m", 2.0, "y")]}, "[1]: model 'm' is listed twice"),
    ],
)  # fmt: skip
def test_bad_leaderboard_is_named_by_file_and_field(tmp_path: Path, data: dict | str, words: str) -> None:
    root = leaderboard(tmp_path / "lb", data, {"l1_p19": REF}, {"x": "X", "y": "Y"}, git=False)
    with pytest.raises(ReleaseError) as err:
        read_leaderboard(root)
    assert words in str(err.value) and str(root / "docs" / "assets" / "data.json") in str(err.value)


def test_a_path_that_is_not_a_leaderboard_is_named(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="nope: no such folder"):
        read_leaderboard(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReleaseError, match=r"empty: no leaderboard data found \(tried docs/assets/data.json"):
        read_leaderboard(tmp_path / "empty")


def test_audit_of_a_leaderboard_on_the_cpu_path_and_the_site_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    problem = (KERNELS / "problem_scale_add.py").read_text()
    data = {
        "Level 1: 1_Scale_add_ReLU": [sol("model-a", 1000.0, "good"), sol("model-b", 1000.0, "ops"),
                                      sol("model-c", 2.0, "gone")],
        "Level 1: 2_Nothing": [],
    }  # fmt: skip
    solutions = {
        "good": (KERNELS / "good_triton.py").read_text(),
        "ops": kernel_source("torch_ops.py"),
    }
    root = leaderboard(tmp_path / "lb", data, {"l1_p1": problem, "l1_p2": REF}, solutions)
    out = tmp_path / "results" / "published" / "kernelbench-leaderboard-l40s.json"
    env = {**os.environ, "KERNELATLAS_CACHE": str(tmp_path / "cache")}

    args = ["audit", "--format", "kernelbench-leaderboard", "--release", str(root), "--out", str(out),
            "--device", "cpu", "--trials", "2", "--timing-iters", "6", "--warmup", "1", "--baselines", "eager",
            "--timeout", "90", "--max-timing-s", "2", "--build-workers", "0", "--work", str(tmp_path / "work"),
            "--order", "release"]  # fmt: skip

    # The audit through `python -m repro` in a process of its own, as a user runs it; the resume below
    # through the same entry point in this process (a process start-up costs seconds).
    r = subprocess.run([sys.executable, "-m", "repro", *args], capture_output=True, text=True, cwd=ROOT, env=env,
                       timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert (
        "warning: not judged, recorded in the ledger: Level 1: 1_Scale_add_ReLU / model-c: solution file"
        in r.stderr
    )
    led = L.load(out)
    rows = {row["task"]: row for row in led["rows"]}
    assert set(rows) == {"level1/1/model-a", "level1/1/model-b", "level1/1/model-c", "level1/2"}
    a, b = rows["level1/1/model-a"], rows["level1/1/model-b"]
    assert (a["model"], a["name"], a["origin"]) == (
        "model-a",
        "1_Scale_add_ReLU",
        "docs/assets/solutions/good.py",
    )
    assert a["claim"]["gpu"] == "L40S" and a["claim"]["baseline"] == "eager" and a["claim"]["value"] == 1000.0
    assert a["policies"]["strict"]["status"] == "slower than claimed"
    assert b["policies"]["strict"]["status"] == "library call, not a kernel"
    assert b["policies"]["kernelbench"]["status"] == "slower than claimed"
    gone = rows["level1/1/model-c"]["policies"]["strict"]
    assert (
        gone["status"] == "no kernel released"
        and "docs/assets/solutions/gone.py is missing" in gone["reason"]
    )
    assert "no correct solution" in rows["level1/2"]["policies"]["kernelbench"]["reason"]
    assert led["release"]["commit"] and led["release"]["repository"] == "someone/Leaderboard"
    assert led["policies"]["kernelbench"]["tolerance_atol_rtol"] == [0.01, 0.01]
    assert led["summary"]["policies"]["strict"]["judged"] == 2 and led["summary"]["not_released"] == 2
    # Resumed: nothing measured again.
    monkeypatch.setenv("KERNELATLAS_CACHE", env["KERNELATLAS_CACHE"])
    r = repro_in_process(capsys, *args, "--only-missing")
    assert r.returncode == 0 and "'judged': 0" in r.stdout and "'skipped': 4" in r.stdout
    # The site: attached to the KernelBench entry by its paper, a model per row, a headline per model.
    pub = load_published(tmp_path / "results", {"2502.10517": "kernelbench"})
    assert pub.errors == []
    (audit_,) = pub.audits
    assert audit_.entry_id == "kernelbench" and audit_.models == ["model-a", "model-b", "model-c"]
    (ma, n_a, (st_a, kb_a)), (mb, n_b, (st_b, kb_b)) = audit_.model_headlines()
    assert (ma, n_a, st_a.accepted, kb_a.accepted) == ("model-a", 1, 1, 1)
    assert (mb, n_b, st_b.accepted, kb_b.accepted) == ("model-b", 1, 0, 1)
    reasons = dict(audit_.not_judged())
    assert any("gone.py" in reason for reason in reasons) and ["level1/2"] in reasons.values()
    lines = list(csv.DictReader(io.StringIO(ledger_csv(audit_))))
    assert {x["task"]: x["model"] for x in lines} == {"level1/1/model-a": "model-a", "level1/1/model-b": "model-b",
                                                     "level1/1/model-c": "model-c", "level1/2": ""}  # fmt: skip
