"""Published kernels: importers (CUDA-L1, KernelBench run folders, JSONL), policies, the ledger, and an
end-to-end audit on the CPU path with fixture releases written here in each format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_run import repro_in_process
from http_serve import serve_directory

from repro.harness import EvalSettings
from repro.published import policies as P
from repro.published.audit import (
    Auditor,
    build_cause,
    compiler_errors,
    needs_build,
    prebuild,
    with_build_dir,
    without_build_directory,
)
from repro.published.releases import ReleaseError, load_release, read_cudal1, read_jsonl, read_kernelbench_run
from repro.records import published_ledger as L
from repro.runners.gauntlet import kernel_source

KERNELS = Path(__file__).parents[1] / "repro" / "gauntlet" / "kernels"
PROBLEM = (KERNELS / "problem_scale_add.py").read_text()
REF = '''import torch
import torch.nn as nn

class Model(nn.Module):
    """
    Simple model that performs a ReLU activation.
    """
    def forward(self, x):
        return torch.relu(x)

def get_inputs():
    return [torch.randn(16, 16)]

def get_init_inputs():
    return []
'''


def cudal1_line(level: int, task: int, custom: str | None, score: float | None) -> str:
    return json.dumps({
        "level_id": level, "task_id": task, "ref_code": REF, "custom_code": custom, "cuda_graph_code": None,
        "score_default": score, "score_torch_compile_default": score and score / 2,
        "score_torch_compile_reduce_overhead": None, "score_cuda_graph": None, "score_cudnn": None,
    })  # fmt: skip


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ---------------------------------------------------------------- importers


def test_cudal1_release_reads_claims_and_missing_kernels(tmp_path: Path) -> None:
    f = write(
        tmp_path / "h100.json",
        "\n".join(
            [cudal1_line(1, 1, "K1", 2.75), cudal1_line(1, 2, None, None), cudal1_line(1, 3, "None", 3.1)]
        )
        + "\n",
    )
    rel = read_cudal1(f)
    assert [k.task for k in rel.kernels] == ["level1/1", "level1/2", "level1/3"]
    k1, k2, k3 = rel.kernels
    assert k1.kernel_source == "K1" and k2.kernel_source is None
    assert k3.kernel_source is None and k3.headline.value == 3.1  # claimed, yet released as the string "None"
    assert k1.headline is not None and (k1.headline.value, k1.headline.baseline, k1.headline.gpu) == (
        2.75,
        "eager",
        "H100",
    )
    assert k1.claims[1].baseline == "torch.compile" and k1.claims[1].value == pytest.approx(1.375)
    assert k1.headline.paper == "arXiv:2507.14111" and k1.headline.benchmark_version == "KernelBench v0"
    assert k1.name == "a ReLU activation" and k1.origin == "h100.json:1" and rel.source == "h100.json"
    assert rel.info()["gpu"] == "H100" and len(rel.sha256) == 64


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json\n", "h100.json:1: not a JSON object"),
        ('{"level_id": 1, "task_id": 1, "ref_code": "x"}\n', "missing field 'custom_code'"),
        (cudal1_line(1, 1, "K", 1.0) + "\n" + cudal1_line(1, 1, "K", 1.0) + "\n", "h100.json:2: task level1/1 appears twice"),
        (cudal1_line(1, 1, "K", 1.0).replace('"score_default": 1.0', '"score_default": "fast"') + "\n", "score_default: expected a number"),
        ("\n\n", "no JSON objects"),
        ('[1, 2]\n', "expected a JSON object"),
    ],
)  # fmt: skip
def test_cudal1_bad_input_is_named(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ReleaseError, match=words.replace("(", r"\(").replace(")", r"\)")):
        read_cudal1(write(tmp_path / "h100.json", text))


def test_release_over_http_loopback(tmp_path: Path) -> None:
    write(tmp_path / "a100.json", cudal1_line(2, 5, "K", 1.5) + "\n")
    with serve_directory(tmp_path) as url:
        rel = load_release("cudal1", f"{url}/a100.json")
        assert [k.task for k in rel.kernels] == ["level2/5"] and rel.info()["gpu"] == "A100"
        with pytest.raises(ReleaseError, match="could not be fetched"):
            load_release("cudal1", f"{url}/missing.json")


def test_a_release_commit_given_is_recorded_for_a_file_that_carries_none(tmp_path: Path) -> None:
    """A release file downloaded from a repository (CUDA-L1's `optimized_cuda_code/h100.json`) names no
    commit: `--release-commit` puts it in the ledger's release record, and a malformed one is refused."""
    path = write(tmp_path / "h100.json", cudal1_line(1, 1, "K", 1.0) + "\n")
    assert "commit" not in load_release("cudal1", path).info()
    assert load_release("cudal1", path, commit="5" * 40).info()["commit"] == "5" * 40
    with pytest.raises(ReleaseError, match="--release-commit 'main' is not a commit id: give the 40-hex id"):
        load_release("cudal1", path, commit="main")


def test_missing_local_release_is_named(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="no such file"):
        load_release("cudal1", tmp_path / "nope.json")
    with pytest.raises(ReleaseError, match="unknown release format"):
        load_release("other", tmp_path / "nope.json")


def kernelbench_checkout(root: Path) -> Path:
    write(root / "KernelBench" / "level1" / "19_ReLU.py", REF)
    write(root / "KernelBench" / "level1" / "20_LeakyReLU.py", REF)
    return root


def test_kernelbench_run_folder(tmp_path: Path) -> None:
    kb = kernelbench_checkout(tmp_path / "kb")
    run = tmp_path / "runs" / "myrun"
    write(run / "level_1_problem_19_sample_0_kernel.py", "K19")
    write(run / "level_1_problem_20_sample_0_kernel.py", "K20")
    write(run / "level_1_problem_20_sample_1_kernel.py", "K20b")
    results = {
        "19": [{"sample_id": 0, "compiled": True, "correctness": True, "runtime": 50.0, "ref_runtime": 100.0}],
        "20": [{"sample_id": 0, "compiled": True, "correctness": False, "runtime": -1.0},
               {"sample_id": 1, "compiled": True, "correctness": True, "runtime": 12.5}],
    }  # fmt: skip
    write(run / "eval_results.json", json.dumps(results))
    rel = read_kernelbench_run(run, kb, gpu="L40S", benchmark_version="KernelBench v0.1")
    by = {k.task: k for k in rel.kernels}
    assert sorted(by) == ["level1/19/s0", "level1/20/s0", "level1/20/s1"]
    assert by["level1/19/s0"].headline.value == 2.0 and by["level1/19/s0"].name == "19_ReLU"
    assert (
        by["level1/20/s0"].headline.value is None and "claimed incorrect" in by["level1/20/s0"].headline.where
    )
    assert (by["level1/20/s1"].headline.metric, by["level1/20/s1"].headline.value) == ("runtime_us", 12.5)
    assert by["level1/19/s0"].problem_source == REF and by["level1/19/s0"].kernel_source == "K19"


def test_kernelbench_run_errors(tmp_path: Path) -> None:
    kb = kernelbench_checkout(tmp_path / "kb")
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(ReleaseError, match="eval_results.json: missing"):
        read_kernelbench_run(run, kb)
    write(run / "eval_results.json", "{oops")
    with pytest.raises(ReleaseError, match="not valid JSON"):
        read_kernelbench_run(run, kb)
    write(run / "eval_results.json", "{}")
    write(run / "level_1_problem_7_sample_0_kernel.py", "K")
    with pytest.raises(ReleaseError, match=r"no problem file 7_\*\.py"):
        read_kernelbench_run(run, kb)
    with pytest.raises(ReleaseError, match="needs --problems"):
        load_release("kernelbench-run", run)


def test_generic_jsonl_inline_and_paths(tmp_path: Path) -> None:
    write(tmp_path / "k" / "relu.py", "K")
    lines = [
        {"task": "a", "problem": REF, "kernel_path": "k/relu.py",
         "claims": [{"metric": "speedup", "value": 3, "baseline": "torch.compile", "where": "Table 2"}]},
        {"task": "b", "problem_path": "k/relu.py", "kernel": None, "claim": {"value": 1.2}},
    ]  # fmt: skip
    f = write(tmp_path / "rel.jsonl", "\n".join(json.dumps(x) for x in lines))
    rel = read_jsonl(f, {"gpu": "H100", "paper": "arXiv:1"})
    a, b = rel.kernels
    assert a.kernel_source == "K" and a.headline.baseline == "torch.compile" and a.headline.gpu == "H100"
    assert b.kernel_source is None and b.problem_source == "K" and b.headline.baseline == "eager"


@pytest.mark.parametrize(
    ("obj", "words"),
    [
        ({"problem": "x"}, "missing 'task'"),
        ({"task": "a"}, "give 'problem'"),
        ({"task": "a", "problem": "x", "problem_path": "p.py", "kernel_path": "nope.py"}, "kernel_path 'nope.py' does not exist"),
        ({"task": "a", "problem": "x", "claims": [{"value": 1, "speed": 2}]}, r"claims\[0\]: unknown field\(s\) \['speed'\]"),
        ({"task": "a", "problem": "x", "claims": [{"metric": "fast_1", "value": 1}]}, "metric 'fast_1' is not one of"),
        ({"task": "a", "problem": "x", "claims": {"value": 1}}, "claims must be a list"),
        ({"task": "a", "problem": "x", "level": "one"}, "level must be an integer"),
    ],
)  # fmt: skip
def test_generic_jsonl_errors(tmp_path: Path, obj: dict, words: str) -> None:
    f = write(tmp_path / "rel.jsonl", json.dumps(obj) + "\n")
    with pytest.raises(ReleaseError, match=words):
        read_jsonl(f)


# ---------------------------------------------------------------- policies


@pytest.mark.parametrize(
    ("verdict", "reason", "status"),
    [
        ("rejected", "ModelNew.forward called aten::mm (the reference calls it too), which is not allowed: write it "
         "as a kernel or list it in the task's ALLOWED_OPS", P.STATUS_LIBRARY),
        ("rejected", "the candidate used torch.compile, which generates kernels from PyTorch ops", P.STATUS_LIBRARY),
        ("rejected", "ModelNew.forward modified input 0 in place (shape 0)", "refused: input mutation"),
        ("rejected", "ModelNew.forward returned an unusable value: output 0 is a x.Lazy, not a plain torch.Tensor",
         "refused: proxy or subclass output"),
        ("rejected", "the candidate changed torch.backends.cudnn.benchmark from False to True (seen after import)",
         "refused: global flag changed"),
        ("rejected", "the candidate replaced time.perf_counter_ns (seen after import)", "refused: timer patched"),
        ("rejected", "the candidate replaced repro.harness.timing.summarize", "refused: harness patched"),
        ("rejected", "the candidate left 1 thread(s) running (t)", "refused: thread left running"),
        ("incorrect", "shape 0 [], timed iteration fed trial 1, output 0: max abs error 3", "refused: cached output"),
        ("incorrect", "shape 0 [], trial 0, output 0: max abs error 0.0039 exceeds atol=0.0001", P.STATUS_INCORRECT),
        ("compile_error", "RuntimeError during import: Error building extension", "failed: compile error"),
        ("timeout", "the candidate did not finish within 90 s", "failed: timeout"),
        ("rejected", "physically impossible time: a median of 0.00128 ms is faster than writing its 103 MB of "
         "output once at the measured copy bandwidth (4.28 TB/s), 0.02411 ms", "refused: physically impossible time"),
        ("rejected", "the evaluating process's clock contradicts the reported time of candidate 0123456789ab: its "
         "worker reported a median of 0.1 ms per call, but 8 back-to-back calls ... The timing was tampered",
         "refused: time contradicted by the parent's clock"),
        ("rejected", "the parent-clocked batch did not run to its end: the candidate's worker left the harness's "
         "protocol", "refused: left the harness's protocol"),
    ],
)  # fmt: skip
def test_status_of_each_verdict(verdict: str, reason: str, status: str) -> None:
    assert P.status(verdict, reason, None, 2.0) == status


def test_reproduced_against_claim() -> None:
    assert P.status("correct", "", 1.9, 2.0) == P.STATUS_REPRODUCED  # within 10% of the claim
    assert P.status("correct", "", 1.7, 2.0) == P.STATUS_SLOWER
    assert P.status("correct", "", 1.7, None) == P.STATUS_CORRECT
    assert P.status("correct", "", 1.7, 12.0, "runtime_us") == P.STATUS_CORRECT


def test_kernelbench_policy_follows_the_benchmark_version() -> None:
    assert P.policy("kernelbench", "KernelBench v0").tolerance == (1e-2, 1e-2)
    assert P.policy("kernelbench", "KernelBench v0.1").tolerance == (1e-2, 1e-2)
    assert P.policy("kernelbench", "KernelBench v0.2").tolerance is None  # per dtype, as strict
    strict, kb = P.policy("strict"), P.policy("kernelbench")
    assert (strict.ops_policy, kb.ops_policy) == ("kernels", "any")
    s = kb.settings(EvalSettings(device="cpu"))
    assert (s.ops_policy, s.tolerance) == ("any", (1e-2, 1e-2))
    with pytest.raises(ValueError, match="unknown policy"):
        P.policy("lenient")


def test_settings_hash_unchanged_by_default_judging_fields() -> None:
    base = EvalSettings(device="cpu")
    assert "ops_policy" not in json.dumps(base.fingerprint())
    assert base.fingerprint() != P.policy("kernelbench").settings(base).fingerprint()
    assert EvalSettings.from_dict(P.policy("kernelbench").settings(base).to_dict()).tolerance == (1e-2, 1e-2)
    with pytest.raises(ValueError, match="ops_policy"):
        EvalSettings(ops_policy="some")
    with pytest.raises(ValueError, match="tolerance"):
        EvalSettings(tolerance=(-1.0, 0.0))


# ---------------------------------------------------------------- ledger


def _row(task: str, strict: tuple, kb: tuple, claim: float | None = 2.0) -> dict:
    def rec(t: tuple) -> dict:
        return {"verdict": t[0], "status": t[1], "speedup": t[2], "reason": ""}

    return {"task": task, "claim": {"metric": "speedup", "value": claim}, "policies": {"strict": rec(strict),
            "kernelbench": rec(kb)}, "provenance": {}}  # fmt: skip


def test_ledger_summary_csv_and_roundtrip(tmp_path: Path) -> None:
    led = L.new_ledger({"name": "x", "sha256": "0"}, {"strict": {}, "kernelbench": {}}, {}, "h")
    L.upsert(led, _row("a", ("correct", "reproduced", 2.0), ("correct", "reproduced", 2.0)))
    L.upsert(
        led,
        _row(
            "n", ("not_released", P.STATUS_NO_KERNEL, None), ("not_released", P.STATUS_NO_KERNEL, None), 9.0
        ),
    )
    L.upsert(
        led, _row("b", ("rejected", P.STATUS_LIBRARY, None), ("correct", "slower than claimed", 1.0), 4.0)
    )
    L.upsert(
        led, _row("b", ("rejected", P.STATUS_LIBRARY, None), ("correct", "slower than claimed", 0.5), 4.0)
    )
    path = tmp_path / "l.json"
    L.write(path, led)
    back = L.load(path)
    s = back["summary"]["policies"]
    assert [r["task"] for r in back["rows"]] == ["a", "n", "b"] and back["summary"]["not_released"] == 1
    assert (s["strict"]["accepted"], s["kernelbench"]["accepted"]) == (1, 2)
    assert s["kernelbench"]["measured_mean_accepted"] == pytest.approx(1.25)
    assert s["strict"]["measured_mean_all_refused_as_1"] == pytest.approx(1.5)
    assert s["strict"]["statuses"] == {"reproduced": 1, P.STATUS_LIBRARY: 1}
    assert back["summary"]["claimed_mean_judged"] == pytest.approx(3.0)
    assert s["kernelbench"]["claimed_mean_accepted"] == pytest.approx(3.0)
    lines = L.to_csv(back).splitlines()
    assert lines[0].startswith("task,level,name,model,claim_metric") and "strict_status" in lines[0]
    assert len(lines) == 4 and lines[3].startswith("b,")


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda d: d.update(format="other"), "format is 'other'"),
        (lambda d: d.update(format_version=99), "format_version 99 is not supported"),
        (lambda d: d.pop("rows"), "missing 'rows'"),
        (lambda d: d["rows"].append({"task": "z"}), r"rows\[0\] \(z\): missing 'claim'"),
        (lambda d: d["rows"].append(_row("z", ("correct", "x", 1), ("correct", "x", 1)) | {"policies": {"lax": {}}}),
         "policy 'lax' is not declared"),
    ],
)  # fmt: skip
def test_ledger_validation_names_the_field(tmp_path: Path, mutate, words: str) -> None:
    led = L.new_ledger({}, {"strict": {}, "kernelbench": {}}, {}, "h")
    mutate(led)
    path = write(tmp_path / "l.json", json.dumps(led))
    with pytest.raises(L.LedgerError, match=words):
        L.load(path)


# ---------------------------------------------------------------- builds


def test_build_prologue_goes_after_future_imports(tmp_path: Path) -> None:
    src = '"""doc"""\nfrom __future__ import annotations\nimport torch\n'
    out = with_build_dir(src, tmp_path / "b", "9.0")
    lines = out.splitlines()
    assert lines[:2] == ['"""doc"""', "from __future__ import annotations"]
    assert "TORCH_EXTENSIONS_DIR" in lines[3] and str(tmp_path / "b") in lines[3] and "9.0" in lines[4]
    compile(out, "x.py", "exec")
    assert with_build_dir("def broken(:\n", tmp_path, "") == "def broken(:\n"
    # only a call builds: a comment or a string naming load_inline does not
    assert needs_build("from torch.utils.cpp_extension import load_inline\nm = load_inline('m', 's')\n")
    assert needs_build("import torch\nm = torch.utils.cpp_extension.load(name='m', sources=['m.cu'])\n")
    assert not needs_build("import torch\n# we could build this with load_inline\nx = torch.load('w.pt')\n")
    assert needs_build("x = 'load_inline(' +\n")  # does not parse: judged by its words


# Kernel sources for the prebuild's tests: torch's own `load_inline` and `load` run (they write the sources
# into TORCH_EXTENSIONS_DIR/<name>/), and only the compile step is replaced (no compiler or GPU needed here):
# it writes `<name>/built.txt` with the first source and the GPU-related environment it saw.
FAKE_COMPILE = (
    "import os, pathlib, types\n"
    "import torch.utils.cpp_extension as _ext\n"
    "def _compile(name, sources, *args, **kwargs):\n"
    "    folder = pathlib.Path(os.environ['TORCH_EXTENSIONS_DIR'], name)\n"
    "    text = pathlib.Path(sources[0]).read_text().replace('#include <torch/extension.h>\\n', '')\n"
    "    (folder / 'built.txt').write_text('|'.join([text, os.environ['CUDA_VISIBLE_DEVICES'],\n"
    "                                                os.environ.get('TORCH_CUDA_ARCH_LIST', '')]))\n"
    "    if 'broken' in text:\n"
    '        raise RuntimeError("Error building extension \'" + name + "\': [1/2] /usr/local/cuda/bin/nvcc "\n'
    "            '-isystem /x -c cuda.cu -o cuda.cuda.o -Werror\\nFAILED: cuda.cuda.o\\n'\n"
    "            '/usr/local/cuda/bin/nvcc -isystem /x -c cuda.cu -o cuda.cuda.o\\n'\n"
    "            + 'cuda.cu(3): warning: unused\\n' * 40 + 'cuda.cu(7): error: identifier \"blockDimx\" is undefined\\n'\n"
    "            + '1 error detected in the compilation of \"cuda.cu\".\\n' + 'ninja: build stopped: subcommand failed.\\n')\n"
    "    return types.SimpleNamespace(name=name)\n"
    "_ext._jit_compile = _compile\n"
)


def built(folder: Path, name: str) -> str:
    return (folder / name / "built.txt").read_text()


def test_prebuild_runs_the_module_without_a_gpu_in_its_build_folder(tmp_path: Path) -> None:
    b = tmp_path / "b"
    src = write(
        b / "kernel_source.py",
        FAKE_COMPILE + "import torch\n"
        "from torch.utils.cpp_extension import load_inline\n"
        "TOP = 'top'\n"
        "load_inline('eager', TOP)\n"
        "if torch.cuda.is_available() and torch.cuda.get_device_capability() >= (9, 0):\n"
        "    load_inline('guarded', 'module level, for a GPU')\n"
        "class ModelNew:\n"
        "    def __init__(self):\n"
        "        src = 'lazy source'\n"
        "        self.mod = load_inline(name='lazy', cpp_sources=src)\n"
        "def later():\n"
        "    from torch.utils.cpp_extension import load_inline\n"
        "    code = 'imported ' + 'inside'\n"
        "    return load_inline(name='inner', cpp_sources=code)\n"
        "class OnSelf:\n"
        "    def __init__(self, n):\n"
        "        self.n = n * missing_name\n"  # fails when replayed; the rest still is
        "        self.src = '-'.join(['kept', 'on', 'self'])\n"
        "        self.mod = torch.utils.cpp_extension.load_inline(name='onself', cpp_sources=self.src)\n"
        "class Deferred:\n"
        "    def __init__(self):\n"
        "        body = 'set in ' + 'init'\n"
        "        self.code = body\n"
        "    def forward(self, x):\n"
        "        if getattr(self, 'mod', None) is None:\n"
        "            self.mod = load_inline(name='deferred', cpp_sources=self.code + ', built in forward')\n"
        "class FromMethod(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.lin = torch.nn.Linear(2, 2)\n"
        "        self.code = self._source()\n"
        "    def _source(self):\n"
        "        return 'returned by a ' + type(self).__name__ + ' method'\n"
        "    def forward(self, x):\n"
        "        self.ext = load_inline(name='frommethod', cpp_sources=self.code)\n",
    )
    info = prebuild(src, b, "9.0", timeout_s=60)
    assert info["ok"] and info["cause"] == "built", info
    assert built(b, "eager") == "top||9.0"  # built at import, no GPU visible
    # a build guarded by `torch.cuda.is_available()` (and the capability) at module level is reached
    assert built(b, "guarded") == "module level, for a GPU||9.0"
    assert built(b, "lazy") == "lazy source||9.0"  # the call inside __init__
    # an import and a computed string inside the function are replayed before the call
    assert built(b, "inner").startswith("imported inside|")
    # sources computed by any expression, on `self` too, in source order; a failing step is skipped
    assert built(b, "onself").startswith("kept-on-self|")
    # a source set on `self` by __init__ and built by another method (forward) is built too
    assert built(b, "deferred").startswith("set in init, built in forward|")
    # `self` is the class's own instance (made without __init__): its methods can be called
    assert built(b, "frommethod").startswith("returned by a FromMethod method|")
    names = sorted(e["name"] for e in info["extensions"])
    assert names == ["deferred", "eager", "frommethod", "guarded", "inner", "lazy", "onself"]
    assert all(e["ok"] for e in info["extensions"]) and info["errors"] == []

    write(src, "raise RuntimeError('no GPU here')\n")
    info = prebuild(src, b, "9.0", timeout_s=60)
    assert not info["ok"] and info["cause"] == "not_reached"
    assert info["errors"] == ["import: RuntimeError: no GPU here"]
    write(src, "import time\ntime.sleep(30)\n")
    info = prebuild(src, b, "", timeout_s=1)
    assert not info["ok"] and info["cause"] == "timeout" and "did not finish within 1 s" in info["errors"][0]
    write(src, "x = 1\n")
    info = prebuild(src, b, "", timeout_s=60)
    assert not info["ok"] and info["errors"] == ["no load_inline/load call was reached by the prebuild"]


def test_a_lock_left_by_a_killed_build_does_not_stall_the_next_prebuild(tmp_path: Path) -> None:
    """torch's build lock (a FileBaton in the extension's folder) outlives a killed build; the next build
    of that extension would wait on it until its timeout."""
    b = tmp_path / "b"
    (b / "ext").mkdir(parents=True)
    (b / "ext" / "lock").write_text("")  # left by a prebuild stopped at the last run's deadline
    src = write(
        b / "kernel_source.py",
        FAKE_COMPILE + "import os\n"
        "from torch.utils.file_baton import FileBaton\n"
        "from torch.utils.cpp_extension import load_inline\n"
        "baton = FileBaton(os.path.join(os.environ['TORCH_EXTENSIONS_DIR'], 'ext', 'lock'), wait_seconds=0.05)\n"
        "if baton.try_acquire():\n"  # what torch does around a build
        "    load_inline('ext', 'after the lock')\n"
        "    baton.release()\n"
        "else:\n"
        "    baton.wait()\n",
    )
    info = prebuild(src, b, "9.0", timeout_s=20)
    assert info["ok"] and built(b, "ext") == "after the lock||9.0", info
    write(src, "import os, pathlib, time\n"
               "pathlib.Path(os.environ['TORCH_EXTENSIONS_DIR'], 'ext', 'lock').touch()\n"
               "pathlib.Path(os.environ['TORCH_EXTENSIONS_DIR'], 'locked').touch()\n"
               "time.sleep(60)\n")  # fmt: skip
    # The timeout must outlast the prebuild's start-up (importing torch) on a loaded machine, or the
    # build is killed before it takes the lock.
    info = prebuild(src, b, "", timeout_s=25)
    assert info["cause"] == "timeout", info
    assert (b / "locked").is_file(), "the prebuild was stopped before its build took the lock"
    assert not (b / "ext" / "lock").exists()


def test_a_failed_build_the_kernel_catches_is_a_failed_prebuild_with_the_compiler_error(
    tmp_path: Path,
) -> None:
    """Released kernels wrap the build in try/except and fall back to PyTorch: the prebuild exits 0, yet
    nothing was built. The outcome is read from the build call itself, and its error lines are kept
    (not the tail of a long log, which holds warnings and the echoed command)."""
    b = tmp_path / "b"
    src = write(
        b / "kernel_source.py",
        FAKE_COMPILE + "from torch.utils.cpp_extension import load_inline\n"
        "load_inline('fine', 'ok')\n"
        "try:\n"
        "    ext = load_inline(name='kern', cpp_sources='broken', cuda_sources='__global__ void k() {}')\n"
        "except Exception as e:\n"
        "    print('falling back to PyTorch:', e)\n"
        "    ext = None\n",
    )
    info = prebuild(src, b, "9.0", timeout_s=60)
    assert not info["ok"] and info["cause"] == "compile", info
    assert [(e["name"], e["ok"]) for e in info["extensions"]] == [("fine", True), ("kern", False)]
    assert info["errors"] == [
        "FAILED: cuda.cuda.o",
        'cuda.cu(7): error: identifier "blockDimx" is undefined',
        '1 error detected in the compilation of "cuda.cu".',
    ]


def test_the_build_gets_the_machines_compiler_settings_and_no_secrets() -> None:
    from repro.harness import isolation

    env = {"NVCC_PREPEND_FLAGS": "-ccbin /opt/gcc/bin/g++", "CPATH": "/opt/x/include", "CUDA_HOME": "/c",
           "AWS_SECRET_ACCESS_KEY": "k", "HF_TOKEN": "t"}  # fmt: skip
    assert isolation.allowed_env(env) == {k: env[k] for k in ("NVCC_PREPEND_FLAGS", "CPATH", "CUDA_HOME")}


def test_compiler_errors_keep_the_error_lines_not_the_commands() -> None:
    out = (
        "[1/3] c++ -MMD -MF main.o.d -isystem /t/include -c main.cpp -o main.o\n"
        "FAILED: main.o\n"
        "c++ -MMD -MF main.o.d -isystem /t/include -c main.cpp -o main.o\n"
        "main.cpp:4:51: error: 'scale' was not declared in this scope\n"
        "In file included from main.cpp:1:\n"
        "main.cpp:4:51: error: 'scale' was not declared in this scope\n"
        "nvcc fatal   : Unsupported gpu architecture 'compute_100a'\n"
        "/usr/bin/ld: cannot find -lcublasLt: No such file or directory\n"
        "collect2: error: ld returned 1 exit status\n"
        "ninja: build stopped: subcommand failed.\n"
    )
    assert compiler_errors(out) == [
        "FAILED: main.o",
        "main.cpp:4:51: error: 'scale' was not declared in this scope",
        "nvcc fatal   : Unsupported gpu architecture 'compute_100a'",
        "/usr/bin/ld: cannot find -lcublasLt: No such file or directory",
        "collect2: error: ld returned 1 exit status",
    ]
    assert compiler_errors(out, limit=2) == compiler_errors(out)[:2]
    assert compiler_errors("x" * 1000 + " error\n") == ["x" * 300]
    failed = [{"name": "m", "ok": False}]
    assert build_cause({"extensions": failed, "errors": compiler_errors(out)[:2]}) == "compile"
    assert build_cause({"extensions": failed, "errors": compiler_errors(out)[3:]}) == "link"
    assert (
        build_cause(
            {"extensions": failed, "errors": ["RuntimeError: Ninja is required to load C++ extensions"]}
        )
        == "tool"
    )
    assert (
        build_cause({"extensions": failed, "errors": ["ImportError: m.so: undefined symbol: _Z3foov"]})
        == "load"
    )
    assert build_cause({"extensions": [], "errors": []}) == "not_reached"
    assert build_cause({"ok": True}) == "built" and build_cause({"timed_out": True}) == "timeout"


def test_a_build_folder_named_by_the_kernel_is_replaced_by_the_extensions_folder(tmp_path: Path) -> None:
    """`build_directory=` relative to the working folder or to `__file__` names another folder in the
    prebuild than in the candidate (and one the prebuild's replay never made): both build under
    TORCH_EXTENSIONS_DIR/<name> instead, with the source's line numbers kept."""
    src = (
        "import os\n"
        "from torch.utils.cpp_extension import load_inline, load\n"
        "class ModelNew:\n"
        "    def __init__(self):\n"
        "        build_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'build_ext')\n"
        "        os.makedirs(build_dir, exist_ok=True)\n"
        "        self.ext = load_inline(name='a', cpp_sources='s', build_directory=build_dir,\n"
        "                               verbose=False)\n"
        "        self.b = load_inline('b', 's', build_directory=os.path.join(\n"
        "            'cuda_extensions', 'b'), extra_cflags=['-O3'])\n"
        "        self.c = load(name='c', sources=['c.cu'], build_directory=None)\n"
        "        self.d = json.load(fp, build_directory='kept')\n"
        "        self.e = load_inline(name='é', cpp_sources='ß', build_directory='déjà')  # ü\n"
    )
    out = without_build_directory(src)
    assert out.count("\n") == src.count("\n")
    lines = out.splitlines()
    assert lines[6] == "        self.ext = load_inline(name='a', cpp_sources='s', build_directory=None,"
    assert lines[8] == "        self.b = load_inline('b', 's', build_directory=None"
    assert lines[9] == ", extra_cflags=['-O3'])"
    assert lines[10] == src.splitlines()[10] and lines[11] == src.splitlines()[11]
    assert lines[12] == "        self.e = load_inline(name='é', cpp_sources='ß', build_directory=None)  # ü"
    compile(out, "k.py", "exec")
    assert without_build_directory("def broken(:\n") == "def broken(:\n"

    b = tmp_path / "b"
    kernel = write(
        b / "kernel_source.py",
        FAKE_COMPILE + "from torch.utils.cpp_extension import load_inline\n"
        "class ModelNew:\n"
        "    def __init__(self):\n"
        "        self.ext = load_inline(name='rel', cpp_sources='relative',\n"
        "                               build_directory='cuda_extensions')\n",
    )
    info = prebuild(kernel, b, "9.0", timeout_s=60)  # the folder does not exist: torch refuses it
    assert not info["ok"] and info["cause"] == "other" and "cuda_extensions" in info["errors"][0], info
    write(kernel, without_build_directory(kernel.read_text()))
    info = prebuild(kernel, b, "9.0", timeout_s=60)
    assert info["ok"], info
    assert built(b, "rel") == "relative||9.0"


def test_prebuild_replays_call_statements_before_the_build(tmp_path: Path) -> None:
    """`os.makedirs(...)`, a source written by `with open(...) as f: f.write(...)`: statements the build
    depends on are replayed too, in source order."""
    b = tmp_path / "b"
    src = write(
        b / "kernel_source.py",
        FAKE_COMPILE + "import tempfile\n"
        "from torch.utils.cpp_extension import load\n"
        "CODE = 'written to a file'\n"
        "class ModelNew:\n"
        "    def __init__(self):\n"
        "        folder = os.path.join(tempfile.gettempdir(), 'kern_src')\n"
        "        os.makedirs(folder, exist_ok=True)\n"
        "        path = os.path.join(folder, 'k.cpp')\n"
        "        with open(path, 'w') as f:\n"
        "            f.write(CODE)\n"
        "        self.ext = load(name='fromfile', sources=[path], verbose=False)\n"
        "    def forward(self, x):\n"
        "        return torch.load(x)\n",
    )
    info = prebuild(src, b, "9.0", timeout_s=60)
    assert info["ok"], info
    assert built(b, "fromfile") == "written to a file||9.0"
    assert (b / "tmp" / "kern_src" / "k.cpp").is_file()  # TMPDIR is inside the build folder


def test_prebuild_only_reports_every_build_by_cause_without_judging(tmp_path: Path) -> None:
    """`audit --prebuild-only`: each load_inline kernel's prebuild outcome, counted by cause, in one JSON
    file rewritten as builds finish; kernels with no build are left out; nothing is judged."""
    from repro.published.audit import prebuild_report
    from repro.published.releases import PublishedKernel

    def kernel(task: str, body: str) -> PublishedKernel:
        return PublishedKernel(task=task, problem_source=PROBLEM, kernel_source=body)

    good = (
        FAKE_COMPILE + "from torch.utils.cpp_extension import load_inline\nm = load_inline('good', 'fine')\n"
    )
    bad = (
        FAKE_COMPILE + "from torch.utils.cpp_extension import load_inline\nm = load_inline('bad', 'broken')\n"
    )
    kernels = [kernel("l1/good", good), kernel("l1/plain", "import torch\n"), kernel("l1/bad", bad)]
    out = tmp_path / "prebuilds.json"
    logged: list[str] = []
    report = prebuild_report(kernels, tmp_path / "work", out, arch="9.0", workers=2, timeout_s=60, probe=False,
                             log=logged.append)  # fmt: skip
    assert json.loads(out.read_text()) == report
    assert report["format"] == "kernelatlas-prebuilds" and report["arch"] == "9.0"
    assert report["environment"]["torch"] and "tools" in report["environment"]
    assert [r["task"] for r in report["kernels"]] == ["l1/good", "l1/bad"]  # release order
    assert report["summary"] | {"seconds": 0} == {"kernels": 2, "done": 2, "built": 1,
                                                 "by_cause": {"built": 1, "compile": 1}, "seconds": 0}  # fmt: skip
    bad_row = report["kernels"][1]
    assert 'cuda.cu(7): error: identifier "blockDimx" is undefined' in bad_row["errors"]
    assert any(line.startswith("  l1/bad: compile in ") and "blockDimx" in line for line in logged)
    # called again: the outcomes are kept, only a changed kernel is built again
    kernels[2] = kernel("l1/bad", bad.replace("('bad', 'broken')", "('bad', 'mended')"))
    logged.clear()
    again = prebuild_report(kernels, tmp_path / "work", out, arch="9.0", workers=2, timeout_s=60, probe=False,
                            log=logged.append)  # fmt: skip
    assert [line.split(":")[0] for line in logged] == ["  l1/bad"]
    assert again["kernels"][0] == report["kernels"][0] and again["summary"]["by_cause"] == {"built": 2}


def test_prebuild_only_on_the_command_line_needs_an_architecture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Errors through repro.cli.main in this process; the prebuild through python -m repro."""
    rel = write(tmp_path / "rel.jsonl", json.dumps({"task": "t/a", "problem": PROBLEM, "kernel": "x = 1\n"}))
    env = {k: v for k, v in os.environ.items() if k != "TORCH_CUDA_ARCH_LIST"}
    env["PATH"] = "/usr/bin:/bin"  # no nvidia-smi: no GPU to read the capability of
    with monkeypatch.context() as mp:
        mp.delenv("TORCH_CUDA_ARCH_LIST", raising=False)
        mp.setenv("PATH", env["PATH"])
        done = repro_in_process(capsys, "audit", "--format", "jsonl", "--release", str(rel), "--prebuild-only",
                                str(tmp_path / "p.json"), "--work", str(tmp_path / "w"))  # fmt: skip
    status, err = done.returncode, done.stderr
    if status == 0:  # an nvidia-smi outside /usr/bin answered after all
        pytest.skip("this machine's GPU gave its capability")
    assert status == 2 and "TORCH_CUDA_ARCH_LIST=9.0" in err, err
    r = subprocess.run([sys.executable, "-m", "repro", "audit", "--format", "jsonl", "--release", str(rel),
                        "--prebuild-only", str(tmp_path / "p.json"), "--work", str(tmp_path / "w")],
                       capture_output=True, text=True, env={**env, "TORCH_CUDA_ARCH_LIST": "9.0"},
                       cwd=Path(__file__).parents[1], timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "p.json").read_text())
    assert report["summary"]["kernels"] == 0 and report["arch"] == "9.0"
    assert set(report["probe"]) <= {"confined", "unconfined", "unconfined_whole_env"} and report["probe"]
    assert "confined" in report["probe"]
    done = repro_in_process(capsys, "audit", "--format", "jsonl", "--release", str(rel))
    assert done.returncode == 2 and "--out" in done.stderr


def test_prebuild_runs_release_code_confined_like_a_candidate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A released kernel's module code runs at prebuild time: it may write its build folder only, and
    sees none of the auditing user's secrets."""
    from repro.harness import isolation

    separate_uid = os.geteuid() == 0 and isolation.uid_blocker() is None
    if isolation.landlock_abi() < 1 and not separate_uid:
        pytest.skip("no Landlock and no separate uid here: the build can write what this user can")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-of-the-auditor")
    outside = tmp_path / "outside.txt"
    src = write(
        tmp_path / "b" / "kernel_source.py",
        "import os, pathlib\n"
        "seen = []\n"
        "try:\n"
        f"    pathlib.Path({str(outside)!r}).write_text('planted')\n"
        "    seen.append('wrote outside')\n"
        "except OSError:\n"
        "    seen.append('denied')\n"
        "seen.append(os.environ.get('OPENAI_API_KEY', 'no key'))\n"
        "pathlib.Path(os.environ['TORCH_EXTENSIONS_DIR'], 'probe').write_text(','.join(seen))\n",
    )
    info = prebuild(src, tmp_path / "b", "9.0", timeout_s=60)
    assert info["errors"] == ["no load_inline/load call was reached by the prebuild"], info
    assert (tmp_path / "b" / "probe").read_text() == "denied,no key"
    assert not outside.exists()


# ---------------------------------------------------------------- end to end (CPU path)

FAST = dict(correctness_trials=2, timing_iters=6, min_timing_iters=3, warmup=1, baselines=("eager",),
            timeout_s=90, max_timing_s=2.0)  # fmt: skip


def test_audit_end_to_end_both_policies_and_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path / "cache"))
    lines = [
        {"task": f"t/{name}", "problem_path": str(KERNELS / "problem_scale_add.py"),
         "kernel_path": str(write(tmp_path / "k" / f"{name}.py", kernel_source(f"{name}.py"))),
         "claim": {"value": 1000.0, "gpu": "H100"}}
        for name in ("good_triton", "torch_ops", "loose_precision", "mutates_input")
    ] + [{"task": "t/none", "problem": PROBLEM, "kernel": None}]  # fmt: skip
    f = write(tmp_path / "rel.jsonl", "\n".join(json.dumps(x) for x in lines))
    rel = load_release("jsonl", f, benchmark_version="KernelBench v0.1", paper="arXiv:0000.00000")
    out = tmp_path / "ledger.json"
    settings = EvalSettings(device="cpu", **FAST)
    counts = Auditor(rel, out, settings, work_dir=tmp_path / "work", log=lambda s: None).run(rel.kernels)
    assert counts["judged"] == 4 and counts["not_released"] == 1
    led = L.load(out)
    rows = {r["task"]: r["policies"] for r in led["rows"]}
    st = {t: (p["strict"]["status"], p["kernelbench"]["status"]) for t, p in rows.items()}
    # A 1000x claim is out of reach on any machine (a kernel made of the reference's own ops can time
    # at 1.5x eager on a noisy CPU): every accepted kernel is "slower than claimed".
    assert st["t/good_triton"] == (P.STATUS_SLOWER, P.STATUS_SLOWER)
    assert st["t/torch_ops"] == (P.STATUS_LIBRARY, P.STATUS_SLOWER)
    assert rows["t/torch_ops"]["kernelbench"]["library_ops"]
    # one candidate process judged both policies: the same measurement where both accept
    good = rows["t/good_triton"]
    assert good["strict"]["candidate_ms"] == good["kernelbench"]["candidate_ms"]
    assert st["t/loose_precision"] == (P.STATUS_INCORRECT, P.STATUS_SLOWER)
    assert "exceeds atol=0.0001" in rows["t/loose_precision"]["strict"]["reason"]
    assert st["t/mutates_input"] == ("refused: input mutation", "refused: input mutation")
    assert st["t/none"] == (P.STATUS_NO_KERNEL, P.STATUS_NO_KERNEL)
    assert led["policies"]["kernelbench"]["tolerance_atol_rtol"] == [0.01, 0.01]
    assert led["release"]["paper"] == "arXiv:0000.00000" and led["release"]["kernels_in_release"] == 5
    row = next(r for r in led["rows"] if r["task"] == "t/good_triton")
    assert row["claim"]["gpu"] == "H100" and row["provenance"]["settings_hash"] == settings.fingerprint()
    assert row["provenance"]["torch"] and row["provenance"]["date"]
    # Resumed: nothing is measured again; a changed kernel is.
    again = Auditor(rel, out, settings, work_dir=tmp_path / "work", log=lambda s: None).run(rel.kernels)
    assert (again["skipped"], again["judged"]) == (5, 0)
    # Each run is recorded in the ledger, so a throughput over resumed runs is read from the file itself.
    runs = L.load(out)["runs"]
    assert [(r["judged"], r["not_released"], r["skipped"], r["finished"]) for r in runs] == [
        (4, 1, 0, True),
        (0, 0, 5, True),
    ]
    assert runs[0]["seconds"] > runs[1]["seconds"] >= 0 and runs[0]["lane_s_median"] > 0
    assert runs[0]["harness_version"] and runs[0]["date"] and runs[0]["lanes"] == 1
    # Where the rows say they came from: the release file's name, never the auditing machine's folders;
    # resumed from a copy elsewhere, the kept rows name the copy (same bytes, same sha256).
    assert row["origin"] == "rel.jsonl:1" and led["release"]["source"] == "rel.jsonl"
    moved = write(tmp_path / "elsewhere" / "release-copy.jsonl", f.read_text())
    stale = json.loads(out.read_text())  # a status named by older rules is derived again on resume
    next(r for r in stale["rows"] if r["task"] == "t/mutates_input")["policies"]["strict"]["status"] = (
        "refused: x"
    )
    out.write_text(json.dumps(stale))
    Auditor(load_release("jsonl", moved), out, settings, work_dir=tmp_path / "work", log=lambda s: None)
    led = L.load(out)
    assert led["release"]["source"] == "release-copy.jsonl" and str(tmp_path) not in out.read_text()
    assert sorted(r["origin"] for r in led["rows"]) == [f"release-copy.jsonl:{i}" for i in range(1, 6)]
    assert {r["task"]: r["policies"]["strict"]["status"] for r in led["rows"]}["t/mutates_input"] == (
        "refused: input mutation"
    )
    # A ledger of another release file is refused by name.
    write(f, "\n".join(json.dumps(x) for x in lines[:2]))
    other = load_release("jsonl", f)
    with pytest.raises(L.LedgerError, match="written for another release file"):
        Auditor(other, out, settings, work_dir=tmp_path / "work")


def test_rederive_names_refusals_again_and_measures_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ledger written before a refusal had its own name is brought up to date by the command, from the
    stored verdicts alone; the summary follows, and the rows name the release file, not a folder."""
    f = write(
        tmp_path / "rel" / "h100.json",
        cudal1_line(1, 1, "K1", 80.0) + "\n" + cudal1_line(1, 2, "K2", 2.0) + "\n",
    )
    rel = read_cudal1(f)
    out = tmp_path / "ledger.json"
    ledger = L.new_ledger({**rel.info(), "source": "../../somewhere/h100.json"}, {"strict": {}}, {}, "abc")
    impossible = "physically impossible time: a median of 0.00128 ms is faster than writing its output once"
    for k, verdict, reason, speedup in ((rel.kernels[0], "rejected", impossible, None),
                                        (rel.kernels[1], "correct", "all outputs match", 1.9)):  # fmt: skip
        pol = {"verdict": verdict, "reason": reason, "status": "refused: other rule", "speedup": speedup}
        L.upsert(ledger, {"task": k.task, "origin": "../../somewhere/h100.json:9", "claim": k.headline.to_dict(),
                          "policies": {"strict": pol}, "provenance": {"settings_hash": "abc"}})  # fmt: skip
    L.write(out, ledger)

    def audit(*args: str) -> tuple[int, str, str]:
        r = repro_in_process(capsys, "audit", "--format", "cudal1", *args)
        return r.returncode, r.stdout, r.stderr

    status, stdout, stderr = audit("--release", str(f), "--out", str(out), "--rederive")
    assert status == 0 and "nothing measured" in stdout, stderr
    led = L.load(out)
    rows = {row["task"]: row for row in led["rows"]}
    assert rows["level1/1"]["policies"]["strict"]["status"] == "refused: physically impossible time"
    assert rows["level1/2"]["policies"]["strict"]["status"] == P.STATUS_REPRODUCED  # 1.9x of a 2.0x claim
    assert [rows[t]["origin"] for t in ("level1/1", "level1/2")] == ["h100.json:1", "h100.json:2"]
    assert led["release"]["source"] == "h100.json" and "somewhere" not in out.read_text()
    assert led["summary"]["policies"]["strict"]["statuses"] == {
        "refused: physically impossible time": 1,
        P.STATUS_REPRODUCED: 1,
    }
    status, _, stderr = audit("--release", str(f), "--out", str(tmp_path / "none.json"), "--rederive")
    assert status == 2 and "needs --out to be an existing ledger file" in stderr
    other = write(tmp_path / "h100-other.json", cudal1_line(1, 1, "K3", 2.0) + "\n")
    status, _, stderr = audit("--release", str(other), "--out", str(out), "--rederive")
    assert status == 2 and "written for another release file" in stderr


def test_audit_command_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The first error through `python -m repro audit` in a process of its own (the exit status a shell
    sees); the others through the same entry point in this process (a process each costs seconds)."""
    r = subprocess.run([sys.executable, "-m", "repro", "audit", "--format", "cudal1", "--release",
                        str(tmp_path / "none.json"), "--out", str(tmp_path / "o.json")],
                       capture_output=True, text=True, cwd=Path(__file__).parents[1], timeout=120)  # fmt: skip
    assert r.returncode == 2 and "no such file" in r.stderr

    def run(*args: str) -> subprocess.CompletedProcess:
        return repro_in_process(capsys, "audit", *args)

    f = write(tmp_path / "h100.json", cudal1_line(1, 1, "K", 2.0) + "\n")
    r = run(
        "--format", "cudal1", "--release", str(f), "--out", str(tmp_path / "o.json"), "--tasks", "level9/9"
    )
    assert r.returncode == 2 and "level9/9" in r.stderr and "level1/1" in r.stderr
    r = run("--format", "cudal1", "--release", str(f), "--out", str(tmp_path / "o.json"), "--policies", "lax")
    assert r.returncode == 2 and "unknown ['lax']" in r.stderr
    r = run("--format", "cudal1", "--release", str(f), "--out", str(tmp_path / "o.json"), "--device", "cpu",
            "--gpus", "0,1")  # fmt: skip
    assert r.returncode == 2 and "--gpus needs --device cuda" in r.stderr
    r = run("--format", "cudal1", "--release", str(f), "--out", str(tmp_path / "o.json"), "--device", "cpu",
            "--workers", "0")  # fmt: skip
    assert r.returncode == 2 and "--workers must be at least 1" in r.stderr
    r = run("--format", "cudal1", "--release", str(f), "--out", str(tmp_path / "o.json"), "--device", "cpu",
            "--per-gpu", "2")  # fmt: skip
    assert r.returncode == 2 and "--per-gpu needs --device cuda" in r.stderr
    r = run("--format", "cudal1", "--release", str(f), "--out", str(tmp_path / "o.json"), "--per-gpu", "0")
    assert r.returncode == 2 and "--per-gpu 0: give at least 1" in r.stderr


def test_a_policy_record_keeps_every_other_baseline_timed_for_an_accepted_kernel() -> None:
    """`--baselines eager,cuda-graph`: the speedup stays over the first; each other baseline with a time
    is kept beside it (its median and the speedup over it), and none for a kernel not accepted, or for a
    baseline that failed (the CPU path's CUDA graph)."""
    from repro.published.audit import _policy_record

    result = {"verdict": "correct", "reason": "ok", "speedup": 5.0, "baseline": "eager",
              "speedups": {"eager": 5.0, "cuda-graph": 0.99, "compile": None},
              "baseline_ms": {"eager": {"median": 40.0}, "cuda-graph": {"median": 7.92},
                              "compile": {"error": "CUDA graphs need a GPU"}},
              "candidate_ms": {"median": 8.0}}  # fmt: skip
    rec = _policy_record(result, None)
    assert (rec["speedup"], rec["baseline"], rec["baseline_ms"]) == (5.0, "eager", 40.0)
    assert rec["other_baselines"] == {"cuda-graph": {"ms": 7.92, "speedup": 0.99}}
    refused = _policy_record({**result, "verdict": "rejected", "speedup": None}, None)
    assert "other_baselines" not in refused and refused["speedup"] is None
    plain = _policy_record({**result, "baseline_ms": {"eager": {"median": 40.0}}}, None)
    assert "other_baselines" not in plain  # rows as before where only the claim's baseline was timed
