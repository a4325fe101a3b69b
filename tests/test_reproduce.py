"""`python -m repro reproduce` on the CPU path: result files, provenance, skipping, deadline, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from shared_setup import shared_folder

import repro.tasks
from repro.cli import main
from repro.records.reproduction import ResultFile
from repro.runners.reproduction import METHODS

FAST = ["--device", "cpu", "--trials", "1", "--timing-iters", "2", "--warmup", "0", "--baselines", "eager",
        "--timeout", "120", "--quiet", "--budget", "2"]  # fmt: skip
TASK = "level1/01_gelu"


@pytest.fixture(autouse=True)
def one_task_smoke(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The smoke suite cut to one cheap task that has a reference solution; a shared harness cache."""
    monkeypatch.setattr(repro.tasks, "SMOKE", (TASK,))
    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path_factory.getbasetemp() / "reproduce-cache"))


def reproduce(out: Path, *extra: str) -> int:
    return main(["reproduce", "--suite", "smoke", "--out", str(out), "--work", str(out.parent / "work"),
                 *FAST, *extra])  # fmt: skip


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One full reproduction of the one-task smoke suite (every method), shared by the tests below and
    by the test processes of this run (read only: a test that runs again on it takes a copy)."""

    def make(folder: Path) -> None:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(repro.tasks, "SMOKE", (TASK,))
            mp.setenv("KERNELATLAS_CACHE", str(tmp_path_factory.getbasetemp() / "reproduce-cache"))
            assert reproduce(folder / "results") == 0

    return shared_folder(tmp_path_factory, "reproduce", make) / "results"


def load(out: Path, method: str) -> dict:
    return json.loads((out / "cpu" / "smoke" / f"{method}.json").read_text())


def test_every_method_writes_a_file_with_provenance_and_a_measured_record(measured: Path) -> None:
    for method in METHODS:
        data = load(measured, method)
        assert data["format"] == "kernelatlas-reproduction" and data["method"] == method
        prov = data["provenance"]
        assert len(prov["git"]["commit"]) == 40 and prov["torch"] and "triton" in prov and prov["date"]
        assert prov["settings"]["correctness_trials"] == 1 and data["settings_hash"]
        (record,) = data["tasks"]
        assert record["task"] == TASK and record["status"] == "measured", record
        assert record["commit"] in data["commits"]
    base = load(measured, "baselines")["tasks"][0]
    assert base["baseline_ms"]["eager"]["median"] > 0
    sol = load(measured, "solutions")
    assert (
        sol["tasks"][0]["verdict"] == "correct"
        and sol["tasks"][0]["source_path"] == f"repro/solutions/{TASK}.py"
    )
    assert sol["metrics"]["correct_rate"] == 1.0 and sol["metrics"]["tasks_measured"] == 1
    for loop in ("evolve", "refine"):
        data = load(measured, loop)
        rec = data["tasks"][0]
        assert data["method_info"]["proposer"] == "mutate" and data["method_info"]["budget"] == 2
        assert rec["candidates"] == 2 and rec["correct"] and "class ModelNew" in rec["source"]
        assert rec["speedups"]["eager"] > 0 and rec["operator"]


def test_a_rerun_skips_what_is_measured_and_force_redoes_it(
    measured: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    measured = Path(shutil.copytree(measured, tmp_path / "results"))
    before = load(measured, "solutions")["tasks"][0]
    assert reproduce(measured) == 0
    assert "0 unit(s) measured, 4 already measured" in capsys.readouterr().out
    assert load(measured, "solutions")["tasks"][0] == before
    assert reproduce(measured, "--methods", "baselines", "--force") == 0
    assert "1 unit(s) measured" in capsys.readouterr().out
    assert load(measured, "baselines")["tasks"][0]["date"] >= before["date"]


def test_a_deadline_leaves_pending_tasks_marked_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "results"
    assert reproduce(out, "--deadline-s", "0") == 0
    assert "0 unit(s) measured, 0 already measured, 4 not reached" in capsys.readouterr().out
    data = load(out, "evolve")
    assert data["tasks"] == [{"task": TASK, "status": "not_run", "reason": "not measured yet"}]
    assert data["metrics"] == {"tasks_in_suite": 1, "tasks_measured": 0}


def test_records_of_other_settings_are_not_reused(tmp_path: Path) -> None:
    path = tmp_path / "solutions.json"
    old = {"settings_hash": "old", "method_info": {"kind": "solutions"},
           "tasks": [{"task": TASK, "status": "measured", "key": "k"}]}  # fmt: skip
    path.write_text(json.dumps(old))
    header = {"settings_hash": "new", "method_info": {"kind": "solutions"}, "method": "solutions"}
    assert ResultFile(path, header, [TASK]).records == {}
    assert ResultFile(path, {**header, "settings_hash": "old"}, [TASK]).done(TASK, "k")
    older = ResultFile(path, {**header, "settings_hash": "old"}, [TASK])  # measured at another commit
    assert not older.done(TASK, "other-key") and older.done(TASK, "other-key", any_commit=True)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--methods", "baselines,hand"], "--methods: unknown method(s) ['hand']"),
        (["--budget", "0"], "--budget must be at least 1"),
        (["--suite", "level9"], "unknown suite 'level9'"),
    ],
)
def test_bad_options_exit_2_naming_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture, extra: list[str],
                                           message: str) -> None:  # fmt: skip
    assert reproduce(tmp_path / "results", *extra) == 2
    assert message in capsys.readouterr().err


def test_a_damaged_result_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "results" / "cpu" / "smoke" / "refine.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"tasks": [')
    assert reproduce(tmp_path / "results") == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "delete it to measure it again" in err


def test_the_site_renders_what_reproduce_wrote(measured: Path, tmp_path: Path) -> None:
    from site_gen.kb.load import load_knowledge_base
    from site_gen.kb.paths import REPO_ROOT
    from site_gen.site.render import SiteInfo, render_docs

    rendered = render_docs(load_knowledge_base(REPO_ROOT), tmp_path / "docs", SiteInfo("https://x"), measured)
    assert rendered.warnings == []
    page = (tmp_path / "docs" / "results" / "reproduced" / "cpu.md").read_text()
    assert "Measured on a CPU" in page and "level1/01\\_gelu" in page and "hand\\-written" in page
    assert (tmp_path / "docs" / "charts" / "reproduced-cpu-smoke-eager.svg").is_file()
    assert "`correctness_trials`" in (tmp_path / "docs" / "results" / "methodology.md").read_text()
