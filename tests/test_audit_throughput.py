"""Throughput machinery of `repro audit`, on the CPU path: the warm reference process that serves task
after task, one candidate run judged under both policies, and several lanes writing one ledger."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from repro.harness import EvalSettings, HarnessError, evaluate, sandbox
from repro.harness.evaluate import _plan, evaluate_policies, reference_bundle
from repro.harness.serve import ProtocolViolation, Session
from repro.published import policies as P
from repro.published.audit import Auditor
from repro.published.releases import load_release
from repro.records import published_ledger as L
from repro.runners.gauntlet import kernel_source

KERNELS = Path(__file__).parents[1] / "repro" / "gauntlet" / "kernels"
PROBLEM = (KERNELS / "problem_scale_add.py").read_text()
FAST = EvalSettings(device="cpu", correctness_trials=2, timing_iters=6, min_timing_iters=3, warmup=1,
                    baselines=("eager",), timeout_s=90, max_timing_s=2.0)  # fmt: skip


@pytest.fixture
def warm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[sandbox.ReferenceServers]:
    """Reference servers enabled, with a cache of this test's own; stopped afterwards."""
    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path / "cache"))
    servers = sandbox.ReferenceServers()
    servers.enabled = True
    monkeypatch.setattr(sandbox, "REFERENCES", servers)
    yield servers
    servers.close()


def problem(tmp_path: Path, name: str, extra: str = "") -> Path:
    """A variant of the scale-add problem (another file, so another reference bundle)."""
    path = tmp_path / f"{name}.py"
    path.write_text(PROBLEM + f"\n# variant {name}\n" + extra)
    return path


def _kernel_file(folder: Path, name: str) -> Path:
    """A gauntlet kernel as a file of its own (the honest kernel in front where it builds on it)."""
    path = folder / "kernels" / f"{name}.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(kernel_source(f"{name}.py"))
    return path


def server_of(path: Path) -> dict:
    return reference_bundle(path, path.read_text(), FAST)["server"]


def test_one_reference_process_serves_task_after_task(tmp_path: Path, warm: sandbox.ReferenceServers) -> None:
    first = [server_of(problem(tmp_path, f"p{i}")) for i in range(3)]
    assert [s["job"] for s in first] == [1, 2, 3] and len({s["pid"] for s in first}) == 1
    assert warm.started == 1 and not any(s["retire"] for s in first)
    # A reference that fails is reported by name; the process goes on serving.
    broken = problem(tmp_path, "broken", "def get_inputs(n=4099):\n    raise ValueError('no inputs today')\n")
    with pytest.raises(HarnessError, match="no inputs today"):
        reference_bundle(broken, broken.read_text(), FAST)
    assert server_of(problem(tmp_path, "p3")) == {"pid": first[0]["pid"], "job": 5, "retire": None}
    # A reference that changes process-wide state retires its server; the next task gets a fresh one.
    flips = problem(
        tmp_path, "flips", "torch.backends.cudnn.benchmark = not torch.backends.cudnn.benchmark\n"
    )
    retired = server_of(flips)
    assert "changed torch.backends.cudnn.benchmark" in retired["retire"]
    after = server_of(problem(tmp_path, "p4"))
    assert after["job"] == 1 and after["pid"] != first[0]["pid"] and warm.started == 2
    # The bundle records where its time went.
    bundle = reference_bundle(problem(tmp_path, "p5"), (tmp_path / "p5.py").read_text(), FAST)
    assert {"load problem", "reference", "baseline eager", "provenance"} <= set(bundle["phases_s"])
    assert bundle["warm_process"] is True


def test_a_hung_reference_is_killed_and_its_server_replaced(
    tmp_path: Path, warm: sandbox.ReferenceServers
) -> None:
    hang = problem(tmp_path, "hang", "import time\ndef get_inputs(n=4099):\n    time.sleep(600)\n")
    job = sandbox.new_job_dir("ref")
    plan = _plan("reference", job, {"problem": str(hang), "pool_seeds": [1]}, FAST)
    outcome = warm.run("cpu", None, job, plan, timeout_s=4)
    assert outcome.timed_out and not (job / "report.json").exists()
    assert warm._servers == {}  # killed, not kept
    assert server_of(problem(tmp_path, "ok"))["job"] == 1 and warm.started == 2


def test_the_reference_may_map_more_host_memory_than_a_candidate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reference keeps every trial's outputs in full (21 GB for one KernelBench v0 task), so its
    warden gets a larger RLIMIT_DATA than a candidate's; KERNELATLAS_MEMORY_LIMIT_GB scales both."""
    monkeypatch.setenv("KERNELATLAS_MEMORY_LIMIT_GB", "2")
    limits = {}
    for role in (True, False):
        worker = sandbox.start_worker("cpu", None, sandbox.new_job_dir("cand"), None, candidate=role)
        try:
            args = list(worker.proc.args)  # type: ignore[arg-type]
            limits[role] = int(args[args.index("--mem") + 1])
        finally:
            sandbox.kill(worker)
    assert limits == {True: 2 << 30, False: sandbox.REFERENCE_MEMORY_FACTOR * (2 << 30)}


def _mapped_from(tensor: torch.Tensor, path: Path) -> bool:
    """Whether the tensor's data lies in a mapping of `path` (not in memory of the process's own)."""
    address = tensor.untyped_storage().data_ptr()
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5] == str(path.resolve()):
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if lo <= address < hi:
                return True
    return False


def test_huge_bundles_are_mapped_from_the_cache_not_copied(tmp_path: Path, warm: sandbox.ReferenceServers,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A bundle's outputs over MEMO_MAX_BYTES stay in the cache file (mapped, not copied into the
    parent's memory), and the next evaluation neither reads nor hashes them again."""
    ev = importlib.import_module("repro.harness.evaluate")  # the package exports a function of that name
    path = problem(tmp_path, "small")
    small = reference_bundle(path, path.read_text(), FAST)
    assert not any(_mapped_from(t, p) for ts in small["outputs"].values() for t in ts
                   for p in (tmp_path / "cache").rglob("outputs.pt"))  # fmt: skip
    monkeypatch.setattr(ev, "MEMO_MAX_BYTES", 0)
    big = problem(tmp_path, "big")
    first = reference_bundle(big, big.read_text(), FAST)
    cached = next(
        p for p in (tmp_path / "cache").rglob("outputs.pt") if _mapped_from(first["outputs"]["s0/t0"][0], p)
    )
    assert all(_mapped_from(t, cached) for ts in first["outputs"].values() for t in ts)
    monkeypatch.setattr(ev, "_bundle_intact", lambda folder: pytest.fail("verified again"))
    assert reference_bundle(big, big.read_text(), FAST) is first


def test_disabled_servers_start_one_process_per_task(tmp_path: Path, warm: sandbox.ReferenceServers) -> None:
    warm.enabled = False
    bundle = reference_bundle(problem(tmp_path, "cold"), (tmp_path / "cold.py").read_text(), FAST)
    assert "server" not in bundle and bundle["warm_process"] is False and warm.started == 0


# ---------------------------------------------------------------- one run, both policies


def test_one_run_judges_both_policies_as_two_runs_would(
    tmp_path: Path, warm: sandbox.ReferenceServers
) -> None:
    """A forward that hides PyTorch ops from the tracer: the strict rules stop at the first such call;
    the kernelbench rules let it run. One shared run gives each the verdict of its own run."""
    source = (KERNELS / "_honest.py").read_text() + "\n" + (KERNELS / "hide_from_tracer.py").read_text()
    prob = problem(tmp_path, "scale_add")
    rules = {name: P.policy(name).settings(FAST) for name in P.POLICY_NAMES}
    shared = evaluate_policies(prob, source, rules)
    alone = {name: evaluate(prob, source, s) for name, s in rules.items()}
    assert shared["strict"].verdict == alone["strict"].verdict == "rejected"
    assert (
        shared["strict"].reason == alone["strict"].reason
        and "outside the op tracer" in alone["strict"].reason
    )
    assert shared["kernelbench"].verdict == alone["kernelbench"].verdict == "correct"
    assert shared["kernelbench"].candidate_ms and shared["strict"].candidate_ms is None
    assert shared["strict"].overhead["runs_judged_together"] == 2
    assert shared["strict"].provenance["settings"]["ops_policy"] == "kernels"
    assert shared["kernelbench"].provenance["settings"]["tolerance"] == [0.01, 0.01]


def test_rule_sets_that_differ_beyond_judging_are_refused(tmp_path: Path) -> None:
    import dataclasses

    other = dataclasses.replace(FAST, correctness_trials=3)
    with pytest.raises(ValueError, match="differs from the first"):
        evaluate_policies(tmp_path / "p.py", "x", {"a": FAST, "b": other})
    with pytest.raises(ValueError, match="at least one"):
        evaluate_policies(tmp_path / "p.py", "x", {})


def test_a_strict_stop_the_run_did_not_ask_for_is_a_protocol_violation() -> None:
    session = Session(FAST, [], [])  # ops_policy "kernels": nothing to mark
    with pytest.raises(ProtocolViolation, match="out of turn"):
        session._on_strict_stop(None, {"kind": "tripwire", "op": "x"}, b"")  # type: ignore[arg-type]
    loose = Session(P.policy("kernelbench").settings(FAST), [], [])
    with pytest.raises(ProtocolViolation, match="malformed"):
        loose._on_strict_stop(None, {"kind": "verdict", "op": "correct"}, b"")  # type: ignore[arg-type]
    loose.ops = {"aten::add.Tensor": 2}
    loose._on_strict_stop(None, {"kind": "forbidden"}, b"")  # type: ignore[arg-type]
    assert loose.strict_stop == {"kind": "forbidden", "op": "", "ops": {"aten::add.Tensor": 2}}
    with pytest.raises(ProtocolViolation, match="twice"):
        loose._on_strict_stop(None, {"kind": "forbidden"}, b"")  # type: ignore[arg-type]


# ---------------------------------------------------------------- lanes


def test_two_lanes_fill_one_ledger(tmp_path: Path, warm: sandbox.ReferenceServers) -> None:
    """Two lanes (on CPU; one per GPU with --gpus) judge different kernels of one release into one file;
    every row records its timing, and one candidate process judged both policies."""
    lines = [
        {"task": f"t/{name}", "problem": problem(tmp_path, name).read_text(),
         "kernel_path": str(_kernel_file(tmp_path, kernel)), "claim": {"value": 1000.0}}
        for name, kernel in (("a", "good_triton"), ("b", "torch_ops"), ("c", "loose_precision"))
    ]  # fmt: skip
    rel_file = tmp_path / "rel.jsonl"
    rel_file.write_text("\n".join(json.dumps(x) for x in lines))
    rel = load_release("jsonl", rel_file, benchmark_version="KernelBench v0")
    out = tmp_path / "ledger.json"
    logs: list[str] = []
    auditor = Auditor(rel, out, FAST, work_dir=tmp_path / "work", log=logs.append)
    counts = auditor.run(rel.kernels, lanes=[None, None])
    assert counts["judged"] == 3 and counts["left"] == 0
    rows = {r["task"]: r for r in L.load(out)["rows"]}
    assert set(rows) == {"t/a", "t/b", "t/c"}
    assert rows["t/b"]["policies"]["strict"]["status"] == P.STATUS_LIBRARY
    assert rows["t/c"]["policies"]["strict"]["status"] == P.STATUS_INCORRECT
    for row in rows.values():
        t = row["timing_s"]
        assert t["candidate_processes"] == 1 and t["wall_s"] >= t["candidate_process_s"] > 0
        assert "reference" in t["reference_phases_s"] and "timing" in t["candidate_phases_s"]
        assert "forward, first call" in t["candidate_phases_s"]
        assert row["provenance"]["settings_hash"] == FAST.fingerprint()
    # One warm reference process served the three tasks (the lanes share it on CPU).
    assert counts["reference_processes"] == 1
    assert warm._servers == {} and warm.enabled  # stopped at the end of the run, the switch as it was


def test_only_missing_judges_a_failed_reference_again(tmp_path: Path, warm: sandbox.ReferenceServers) -> None:
    """A reference that failed at an earlier commit (say at a memory limit since raised) is judged again
    by --only-missing, which keeps the other rows of earlier commits; at the same commit it is kept."""
    broken = problem(tmp_path, "broken", "def get_inputs(n=4099):\n    raise MemoryError('too big today')\n")
    line = {"task": "t/a", "problem": broken.read_text(), "kernel_path": str(KERNELS / "good_triton.py")}
    rel_file = tmp_path / "rel.jsonl"
    rel_file.write_text(json.dumps(line))
    rel = load_release("jsonl", rel_file)
    out = tmp_path / "ledger.json"
    auditor = Auditor(rel, out, FAST, work_dir=tmp_path / "work", log=lambda s: None)
    assert auditor.run(rel.kernels)["judged"] == 1
    row = L.load(out)["rows"][0]
    assert (
        row["policies"]["strict"]["status"] == P.FAILED + "reference"
        and "too big today" in row["policies"]["strict"]["reason"]
    )
    same = Auditor(rel, out, FAST, work_dir=tmp_path / "work", log=lambda s: None)
    assert same.done(rel.kernels[0], "default") and same.done(rel.kernels[0], "only-missing")
    data = L.load(out)
    data["rows"][0]["provenance"]["git"] = {"commit": "0" * 40}  # as if judged at an earlier commit
    L.write(out, data)
    later = Auditor(rel, out, FAST, work_dir=tmp_path / "work", log=lambda s: None)
    assert not later.done(rel.kernels[0], "only-missing")


def test_a_rebuild_inside_the_candidate_is_reported_with_its_cause(tmp_path: Path) -> None:
    """The audit tells a prebuilt extension the candidate loaded from one it compiled again, and names
    the first `build.ninja` lines that changed (e.g. another CUDA home) so the prebuild can be fixed."""
    from repro.published.audit import ninja_state, rebuild_report

    for name in ("ext_a", "ext_b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "build.ninja").write_text("nvcc = /usr/local/cuda-13.0/bin/nvcc\ncflags = -O3\n")
        (tmp_path / name / ".ninja_log").write_text("# ninja log v5\n1\t2\t3\tcuda.cuda.o\t9\n")
    before = ninja_state(tmp_path)
    assert rebuild_report(before, ninja_state(tmp_path)) == {
        "rebuilt_in_candidate": [],
        "build_ninja_changes": [],
    }
    (tmp_path / "ext_b" / "build.ninja").write_text("nvcc = /usr/local/cuda/bin/nvcc\ncflags = -O3\n")
    with (tmp_path / "ext_b" / ".ninja_log").open("a") as f:
        f.write("4\t5\t6\tcuda.cuda.o\t10\n")
    (tmp_path / "ext_c").mkdir()  # built only by the candidate: the prebuild never reached it
    (tmp_path / "ext_c" / "build.ninja").write_text("cflags = -O3\n")
    (tmp_path / "ext_c" / ".ninja_log").write_text("# ninja log v5\n1\t2\t3\tmain.o\t9\n")
    report = rebuild_report(before, ninja_state(tmp_path))
    assert report["rebuilt_in_candidate"] == ["ext_b", "ext_c"]
    assert report["build_ninja_changes"] == [
        "ext_b: -nvcc = /usr/local/cuda-13.0/bin/nvcc",
        "ext_b: +nvcc = /usr/local/cuda/bin/nvcc",
    ]
