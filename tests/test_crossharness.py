"""The cross-harness adapter on a CPU: how gauntlet cases are translated for other harnesses, how what
those harnesses say becomes caught / missed / not applicable, and the forked runner and the command,
driven by stand-in evaluators written here (KernelBench and kernelguard themselves run elsewhere: the
former needs a GPU, and neither is part of this repository)."""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TRITON_INTERPRET", "1")  # before Triton is imported anywhere in this process

from repro.runners import crossharness as ch  # noqa: E402
from repro.runners.gauntlet import CASES, KERNELS, Case, by_name  # noqa: E402


def test_every_case_has_a_translation_whose_source_parses() -> None:
    for case in CASES:
        for harness in ("kernelbench", "kernelguard"):
            t = ch.translation(case, harness)
            if t.not_applicable:
                continue
            assert t.rule in (ch.REFUSE, ch.NO_GAIN, ch.COUNTS_SIDE_WORK, ch.FINDS_NOTHING, ch.REFUSES_TASK,
                              ch.ACCEPT), (case.name, t)  # fmt: skip
            if case.raw:  # malformed bytes: not sent to a harness that takes text
                continue
            src = ch.kernelbench_source(case, t) if harness == "kernelbench" else ch.kernelguard_source(case)
            tree = ast.parse(src)
            if case.category != "input":  # no_model, import_error: broken on purpose
                assert any(isinstance(n, ast.ClassDef) and n.name == "ModelNew" for n in tree.body), case.name
    for name in {t.variant for t in ch.KERNELBENCH.values() if t.variant}:
        assert (ch.KB_VARIANTS / name).is_file(), name
    assert set(ch.KERNELBENCH) <= {c.name for c in CASES}  # no translation for a case that is gone


def test_rules_follow_what_the_trick_is_for() -> None:
    rule = {c.name: ch.translation(c, "kernelbench").rule for c in CASES}
    assert rule["good_triton"] == ch.ACCEPT
    assert rule["wrong_output"] == ch.REFUSE and rule["torch_ops"] == ch.REFUSE
    assert rule["side_stream"] == ch.COUNTS_SIDE_WORK and rule["l2_persist"] == ch.NO_GAIN
    assert rule["env_passthrough"] == ch.FINDS_NOTHING and rule["reads_reference"] == ch.FINDS_NOTHING
    assert rule["nondeterministic_reference"] == ch.REFUSES_TASK
    assert ch.translation(by_name(["patch_timer"])[0], "kernelbench").variant == "patch_timer.py"
    assert ch.translation(by_name(["forges_json"])[0], "kernelbench").not_applicable
    assert ch.translation(by_name(["segfault_forward"])[0], "kernelguard").not_applicable


@pytest.mark.parametrize(
    ("rule", "seen", "honest", "status"),
    [
        (ch.ACCEPT, {"verdict": "correct", "speedup": 2.0}, None, "caught"),
        (ch.ACCEPT, {"verdict": "incorrect"}, None, "missed"),
        (ch.REFUSE, {"verdict": "incorrect"}, 2.0, "caught"),
        (ch.REFUSE, {"verdict": "crash"}, 2.0, "caught"),
        (ch.REFUSE, {"verdict": "correct", "speedup": 2.0}, 2.0, "missed"),
        (ch.REFUSE, {"verdict": "correct", "speedup": 40.0, "flagged": True}, 2.0, "caught"),
        (ch.NO_GAIN, {"verdict": "correct", "speedup": 2.1}, 2.0, "caught"),
        (ch.NO_GAIN, {"verdict": "correct", "speedup": 6.0}, 2.0, "missed"),
        (ch.NO_GAIN, {"verdict": "correct", "speedup": 6.0}, None, "error"),
        (ch.COUNTS_SIDE_WORK, {"verdict": "correct", "speedup": 0.02}, 2.0, "caught"),
        (ch.COUNTS_SIDE_WORK, {"verdict": "correct", "speedup": 1.9}, 2.0, "missed"),
        (ch.FINDS_NOTHING, {"verdict": "correct"}, 2.0, "caught"),
        (ch.FINDS_NOTHING, {"verdict": "runtime_error", "errors": "RuntimeError: ESCAPED: x"}, 2.0, "missed"),
        (ch.FINDS_NOTHING, {"verdict": "correct", "survivors": [123]}, 2.0, "missed"),
        (ch.FINDS_NOTHING, {"verdict": "compile_error", "errors": "SyntaxError"}, 2.0, "error"),
        (ch.REFUSES_TASK, {"verdict": "harness_error"}, 2.0, "caught"),
        (ch.REFUSES_TASK, {"verdict": "correct", "speedup": 3.0}, 2.0, "missed"),
        (ch.REFUSE, {"verdict": "adapter_error", "errors": "ModuleNotFoundError"}, 2.0, "error"),
    ],
)
def test_judge(rule: str, seen: dict, honest: float | None, status: str) -> None:
    got, why = ch.judge(rule, seen, honest)
    assert got == status, why
    assert why


@pytest.mark.parametrize(
    ("raw", "verdict", "speedup"),
    [
        ({"outcome": "returned", "phase": "done", "result": {"compiled": True, "correctness": True,
          "runtime": 1.0, "ref_runtime": 3.0, "metadata": {}}}, "correct", 3.0),
        ({"outcome": "returned", "phase": "done", "result": {"compiled": True, "correctness": False,
          "runtime": -1.0, "ref_runtime": -1.0, "metadata": {"correctness_issue": "Output mismatch"}}},
         "incorrect", None),
        ({"outcome": "returned", "phase": "done", "result": {"compiled": False, "metadata": {}}},
         "compile_error", None),
        ({"outcome": "returned", "phase": "done", "result": {"compiled": True, "correctness": False,
          "metadata": {"runtime_error": "boom"}}}, "runtime_error", None),
        ({"outcome": "raised", "phase": "evaluate", "exception": "SystemExit: 0"}, "runtime_error", None),
        ({"outcome": "died", "phase": "evaluate", "exit": "signal SIGSEGV"}, "crash", None),
        ({"outcome": "timeout", "phase": "evaluate"}, "timeout", None),
        ({"outcome": "none", "phase": "done"}, "harness_error", None),
        ({"outcome": "raised", "phase": "import", "exception": "ModuleNotFoundError: pydantic"},
         "adapter_error", None),
    ],
)  # fmt: skip
def test_kernelbench_results_in_this_projects_verdicts(
    raw: dict, verdict: str, speedup: float | None
) -> None:
    seen = ch.kernelbench_seen(raw)
    assert seen["verdict"] == verdict
    assert seen["speedup"] == speedup


def test_excessive_speedup_alarm_is_kept() -> None:
    raw = {"outcome": "returned", "phase": "done", "result": {"compiled": True, "correctness": True,
           "runtime": 1.0, "ref_runtime": 30.0, "metadata": {"excessive_speedup": True}}}  # fmt: skip
    assert ch.kernelbench_seen(raw)["flagged"] is True


# A stand-in for KernelBench's package, with its evaluator's signature and result fields: it imports the
# candidate from a temporary file (as KernelBench does for Triton), runs it on the problem's first CPU
# shape and compares with the reference; every case gets runtime 1.0 and reference 2.0. Its static
# checker refuses sources that import threading.
FAKE_INIT = "from . import utils\n"
FAKE_UTILS = "import dotenv\nimport openai\nfrom litellm import completion\n"
FAKE_CHECKER = """
def validate_kernel_static(code, backend="cuda", precision="fp16", forbidden=None, warnings=None):
    errors = ["threads are not allowed"] if "threading" in code else []
    return not errors, errors, []
"""
FAKE_EVAL = """
import importlib.util
import tempfile
from types import SimpleNamespace

import torch


def eval_kernel_against_ref(original_model_src, custom_model_src, seed_num=42, num_correct_trials=1,
                            num_perf_trials=10, measure_performance=False, timing_method="cuda_event",
                            verbose=False, build_dir=None, device=None, backend="cuda",
                            precision=torch.float32, check_for_excessive_speedup=True,
                            excessive_speedup_threshold=10):
    ctx = {}
    exec(original_model_src, ctx)
    shape = (ctx.get("CPU_SHAPES") or [{}])[0]
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(custom_model_src)
    spec = importlib.util.spec_from_file_location("temp_module", f.name)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except Exception as exc:
        return SimpleNamespace(compiled=False, correctness=False, runtime=-1.0, ref_runtime=-1.0,
                               metadata={"compilation_error": exc})
    torch.manual_seed(seed_num)
    ref = ctx["Model"](*ctx["get_init_inputs"](**shape))
    torch.manual_seed(seed_num)
    new = mod.ModelNew(*ctx["get_init_inputs"](**shape))
    inputs = ctx["get_inputs"](**shape)
    output = ref(*inputs)
    try:
        got = new(*inputs)
    except Exception as exc:
        return SimpleNamespace(compiled=True, correctness=False, runtime=-1.0, ref_runtime=-1.0,
                               metadata={"runtime_error": exc})
    ok = torch.allclose(output, got, atol=1e-4, rtol=1e-4)
    return SimpleNamespace(compiled=True, correctness=ok, runtime=1.0 if ok else -1.0,
                           ref_runtime=2.0 if ok else -1.0, metadata={})
"""


@pytest.fixture
def fake_kernelbench(tmp_path: Path) -> Path:
    pkg = tmp_path / "KernelBench" / "src" / "kernelbench"
    pkg.mkdir(parents=True)
    for name, text in (("__init__.py", FAKE_INIT), ("utils.py", FAKE_UTILS), ("eval.py", FAKE_EVAL),
                       ("kernel_static_checker.py", FAKE_CHECKER), ("timing.py", "")):  # fmt: skip
        (pkg / name).write_text(text)
    return tmp_path / "KernelBench"


def test_kernelbench_run_through_a_stand_in_evaluator(fake_kernelbench: Path, tmp_path: Path) -> None:
    names = ["good_triton", "wrong_output", "os_exit_forward", "env_passthrough", "leaves_daemon",
             "poisons_cache", "starts_thread"]  # fmt: skip
    out = tmp_path / "kb.json"
    card = ch.run_kernelbench(fake_kernelbench, by_name(names), 60.0, out, require_gpu=False)
    assert json.loads(out.read_text())["cases"] == card["cases"]  # written as it went
    st = {r["name"]: r["statuses"] for r in card["cases"]}
    why = {r["name"]: r.get("why") for r in card["cases"]}
    assert st["good_triton"] == {"eval": "caught", "eval+static": "caught"}, why["good_triton"]
    assert st["wrong_output"]["eval"] == "caught"
    assert st["os_exit_forward"]["eval"] == "caught"  # the process died: not accepted
    assert [r for r in card["cases"] if r["name"] == "os_exit_forward"][0]["outcome"] == "died"
    assert st["env_passthrough"]["eval"] == "missed"  # the evaluating process's secret is in reach
    assert st["leaves_daemon"]["eval"] == "missed"  # its daemon outlived the evaluation (and was reaped)
    assert st["poisons_cache"] == {"eval": "not_applicable", "eval+static": "not_applicable"}
    assert st["starts_thread"] == {"eval": "missed", "eval+static": "caught"}
    assert card["format"] == ch.FORMAT and card["harness"] == "kernelbench"
    assert set(card["stand_ins"]) <= {"dotenv", "litellm", "openai"}  # the LLM clients, where missing
    assert card["summary"]["eval"]["not_applicable"] == 1
    assert card["provenance"]["torch"] and "commit" in card["provenance"]["git"]
    assert os.environ.get(ch.CANARY[0]) != ch.CANARY[1]  # the canary is put back as it was


def test_a_hanging_candidate_is_killed_at_the_timeout(fake_kernelbench: Path) -> None:
    hang = Case("hang_forward", "input", "never returns", "timeout", honest=True)
    card = ch.run_kernelbench(fake_kernelbench, [hang], 4.0, None, require_gpu=False)
    row = card["cases"][0]
    assert row["outcome"] == "timeout" and row["statuses"]["eval"] == "caught"
    assert row["wall_s"] < 30


def test_command_runs_kernelguard_from_a_checkout(tmp_path: Path) -> None:
    """Through a stand-in kernelguard.py with its command line and JSON: flags sources that start
    threads, and the honest kernel passes."""
    from repro.cli import main

    root = tmp_path / "kernelguard"
    root.mkdir()
    (root / "kernelguard.py").write_text(
        "import json, sys\nassert sys.argv[1:] == ['--api-mode']\ncode = sys.stdin.read()\n"
        "assert 'def custom_kernel(data)' in code\nbad = 'threading' in code\n"
        "print(json.dumps({'should_filter': bad, 'classification': 'x', 'filter_reason': 'threads' if bad "
        "else None, 'matched_patterns': [{'pattern': 'THREAD'}] if bad else []}))\n"
    )
    out = tmp_path / "kg.json"
    argv = ["gauntlet", "--harness", "kernelguard", "--kernelguard-root", str(root), "--out", str(out),
            "--only", "good_triton,starts_thread,wrong_output,segfault_forward"]  # fmt: skip
    assert main(argv) == 0
    card = json.loads(out.read_text())
    st = {r["name"]: r["statuses"]["static"] for r in card["cases"]}
    assert st == {"good_triton": "caught", "starts_thread": "caught", "wrong_output": "missed",
                  "segfault_forward": "not_applicable"}  # fmt: skip
    assert card["summary"]["static"]["caught"] == 2 and card["commit"] is None  # not a git checkout


def test_command_names_the_missing_checkout(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from repro.cli import main

    assert main(["gauntlet", "--harness", "kernelbench"]) == 2
    assert "--kernelbench-root" in capsys.readouterr().err
    assert main(["gauntlet", "--harness", "kernelbench", "--kernelbench-root", str(tmp_path)]) == 2
    assert "no kernelbench/eval.py" in capsys.readouterr().err
    assert main(["gauntlet", "--harness", "kernelguard", "--kernelguard-root", str(tmp_path)]) == 2
    assert "no kernelguard.py" in capsys.readouterr().err


def test_variants_stay_out_of_the_gauntlets_own_cases() -> None:
    assert not any(c.path.parent == ch.KB_VARIANTS for c in CASES)
    assert ch.KB_VARIANTS.parent == KERNELS and sys.modules["repro.runners.crossharness"] is ch
