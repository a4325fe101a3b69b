"""A released kernel whose extension failed to build did not run: what was judged is its fallback.

The ledger's rows keep the prebuild's outcome (`timing_s.build`: ok, cause, the compiler's error lines,
the log's tail). From those alone (no GPU, nothing re-run) a reader derives whether the kernel's own code
ran and why its build failed, counts the accepted rows that measured a fallback apart, and gives the
measured means again over the kernels that ran. The fixtures are ledger rows written here in the format
`python -m repro audit` writes, with error lines in the compilers' formats.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from repro.records import published_ledger as L
from site_gen.site.published import load_published

# Compiler output as the prebuild keeps it, one sample per cause (paths and names made up).
ERRS = {
    "binding-redefined": [
        "FAILED: [code=1] main.o",
        "/b/k1/ext_a/main.cpp:30:1: error: redefinition of ‘PyObject* PyInit_ext_a()’",
        "/b/k1/ext_a/main.cpp:30:1: error: redefinition of ‘void pybind11_init_ext_a(pybind11::module_&)’",
    ],
    "binding-undeclared": ["/b/k2/ext_b/main.cpp:4:50: error: ‘fused_kernel’ was not declared in this scope"],
    "cuda-in-cpp": [
        "/b/k3/ext_c/main.cpp:35:29: error: ‘threadIdx’ was not declared in this scope",
        "/b/k3/ext_c/main.cpp:140:13: error: there are no arguments to ‘__syncthreads’ that depend on a "
        "template parameter, so a declaration of ‘__syncthreads’ must be available [-fpermissive]",
    ],
    "syntax": ["import: SyntaxError: unterminated triple-quoted string literal (detected at line 90)"],
    "torch-removed": [
        "FAILED: [code=2] cuda.cuda.o",
        '/b/k5/ext_e/cuda.cu(120): error: no suitable conversion function from "const '
        'at::DeprecatedTypeProperties" to "c10::ScalarType" exists',
        '1 error detected in the compilation of "/b/k5/ext_e/cuda.cu".',
    ],
    "torch-undeclared": [
        '/b/k6/ext_f/cuda.cu(88): error: namespace "at::cuda" has no member "getCurrentCUDAStream"',
        '/b/k6/ext_f/cuda.cu(97): error: identifier "AT_CUDA_CHECK" is undefined',
    ],
    "cxx-standard": [
        "/t/include/ATen/ATen.h:5:2: error: #error C++17 or later compatible compiler is required to use ATen."
    ],
    "other": ['/b/k8/ext_h/cuda.cu(40): error: declaration is incompatible with previous "buf"'],
    "not-writable": ["import: PermissionError: [Errno 13] Permission denied: '/tmp/exts'"],
    "not-kept": ["RuntimeError: Error building extension 'ext_j'"],
}


def build(errors: list[str], *, cause: str = "compile", log_tail: str = "", ok: bool = False) -> dict:
    return {"ok": ok, "seconds": 20.0, "cause": cause, "extensions": [{"name": "ext", "ok": ok, "seconds": 15.0}],
            "errors": errors, "log_tail": log_tail, "rebuilt_in_candidate": []}  # fmt: skip


def pol(verdict: str, status: str, speedup: float | None = None) -> dict:
    return {"verdict": verdict, "status": status, "speedup": speedup, "reason": ""}


def row(task: str, kb: dict, b: dict | None = None, claim: float = 1.5, strict: dict | None = None) -> dict:
    out = {"task": task, "level": 1, "name": task, "claim": {"metric": "speedup", "value": claim},
           "policies": {"strict": strict or pol("rejected", "library call, not a kernel"), "kernelbench": kb},
           "provenance": {"name": "NVIDIA H200", "torch": "2.11.0+cu130", "git": {"commit": "c" * 40},
                          "date": "2026-12-02T02:00:00+00:00"}}  # fmt: skip
    if b is not None:
        out["timing_s"] = {"wall_s": 30.0, "build": b}
    return out


ACCEPTED = pol("correct", "reproduced", 2.0)


@pytest.mark.parametrize(
    ("sample", "log_tail", "causes"),
    [
        ("binding-redefined", "", [L.BINDING]),
        ("binding-undeclared", "", [L.BINDING]),
        ("cuda-in-cpp", "", [L.CUDA_IN_CPP]),
        ("syntax", "", [L.SYNTAX]),
        ("torch-removed", "", [L.TORCH_REMOVED]),
        ("torch-undeclared", "", [L.TORCH_UNDECLARED]),
        ("cxx-standard", "", [L.CXX_STANDARD]),
        ("other", "", [L.OTHER_COMPILER]),
        ("not-writable", "", [L.NOT_WRITABLE]),
        ("not-kept", "ninja: build stopped: subcommand failed.\n", [L.NOT_KEPT]),
        # Only the log's tail holds the diagnostic (torch's one-line error in `errors`).
        ("not-kept", "23:1: note: ‘void pybind11_init_ext_j(pybind11::module_&)’ previously defined here\n",
         [L.BINDING]),
    ],
)  # fmt: skip
def test_each_cause_is_read_from_the_compiler_text(sample: str, log_tail: str, causes: list[str]) -> None:
    r = row("level1/1", ACCEPTED, build(ERRS[sample], log_tail=log_tail))
    assert L.kernel_ran(r) is False
    assert L.build_failure(r) == causes
    assert L.derived(r) == {"kernel_ran": False, "build_failure": causes[0], "build_failures": causes}


def test_a_source_mistake_is_named_before_what_changed_in_torch() -> None:
    # Both in one build: the duplicate module stops it on any torch, so it is the cause named first.
    both = build(ERRS["torch-removed"] + ERRS["binding-redefined"])
    assert L.build_failure(row("a", ACCEPTED, both)) == [L.BINDING, L.TORCH_REMOVED]
    # An unexplained diagnostic beside explained ones is listed too, after them.
    mixed = build(ERRS["binding-undeclared"] + ERRS["other"])
    assert L.build_failure(row("a", ACCEPTED, mixed)) == [L.BINDING, L.OTHER_COMPILER]
    # A CUDA builtin undeclared in main.cpp is not a binding error.
    assert L.BINDING not in L.build_failure(row("a", ACCEPTED, build(ERRS["cuda-in-cpp"])))
    # The log's tail repeats an error line with its start cut off: read once, not as another diagnostic.
    line = ERRS["binding-undeclared"][0]
    cut = build(ERRS["binding-undeclared"], log_tail=line[12:] + "\nninja: build stopped\n")
    assert L.build_failure(row("a", ACCEPTED, cut)) == [L.BINDING]
    assert L.build_failure_causes(build([], cause="timeout")) == [L.TIMEOUT]


@pytest.mark.parametrize(
    ("kb", "b", "ran"),
    [
        (ACCEPTED, None, True),  # nothing to build (a Triton or PyTorch kernel)
        (ACCEPTED, build([], ok=True), True),
        (ACCEPTED, build(ERRS["torch-removed"]), False),
        (pol("rejected", "refused: global flag changed"), build(ERRS["binding-undeclared"]), False),
        # The prebuild never reached the build call: known only where the candidate failed to compile too.
        (pol("compile_error", "failed: compile error"), build(ERRS["syntax"], cause="not_reached"), False),
        (
            ACCEPTED,
            build(["no load_inline/load call was reached by the prebuild"], cause="not_reached"),
            None,
        ),
        (ACCEPTED, build(["build did not finish within 300 s"], cause="timeout"), None),
        (pol("not_released", "no kernel released"), None, None),
    ],
)
def test_whether_the_kernel_ran(kb: dict, b: dict | None, ran: bool | None) -> None:
    strict = kb if kb["verdict"] in ("not_released", "compile_error") else None
    r = row("level1/1", kb, b, strict=strict)
    assert L.kernel_ran(r) is ran
    assert (L.build_failure(r) != []) is (ran is False)


def ledger() -> dict:
    """Six released kernels and one task without: two accepted that ran, two accepted fallbacks (one
    reproduced, one slower than claimed), a refused fallback and a syntax error."""
    led = L.new_ledger({"name": "Rel", "sha256": "0", "paper": "arXiv:2507.14111", "gpu": "H100"},
                       {"strict": {}, "kernelbench": {}}, {}, "h")  # fmt: skip
    for r in [
        row("level1/1", pol("correct", "reproduced", 3.0), build([], ok=True),
            strict=pol("correct", "reproduced", 3.0)),
        row("level1/2", pol("correct", "slower than claimed", 1.0), None),
        row("level1/3", pol("correct", "reproduced", 2.51), build(ERRS["binding-redefined"] + ERRS["torch-removed"])),
        row("level1/4", pol("correct", "slower than claimed", 0.3), build(ERRS["torch-removed"])),
        row("level1/5", pol("rejected", "refused: global flag changed"), build(ERRS["binding-undeclared"])),
        row("level1/6", pol("compile_error", "failed: compile error"), build(ERRS["syntax"], cause="not_reached"),
            strict=pol("compile_error", "failed: compile error")),
        row("level1/7", pol("not_released", "no kernel released"), None,
            strict=pol("not_released", "no kernel released")),
    ]:  # fmt: skip
        L.upsert(led, r)
    return led


def test_the_summary_counts_accepted_fallbacks_apart(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    L.write(path, ledger())
    s = L.load(path)["summary"]
    assert s["kernel_not_run"] == {"rows": 4, "by_cause": {L.BINDING: 2, L.TORCH_REMOVED: 1, L.SYNTAX: 1}}
    kb = s["policies"]["kernelbench"]
    assert (kb["judged"], kb["accepted"], kb["accepted_fallback"], kb["accepted_kernel_ran"]) == (6, 4, 2, 2)
    assert kb["accepted_fallback_by_cause"] == {L.BINDING: 1, L.TORCH_REMOVED: 1}
    assert kb["accepted_fallback_statuses"] == {"reproduced": 1, "slower than claimed": 1}
    # The existing figure keeps every accepted row; the new one only the kernels that ran.
    assert kb["measured_mean_accepted"] == pytest.approx((3.0 + 1.0 + 2.51 + 0.3) / 4)
    assert kb["measured_mean_accepted_kernel_ran"] == pytest.approx(2.0)
    assert kb["measured_geomean_accepted_kernel_ran"] == pytest.approx(3.0**0.5)
    st = s["policies"]["strict"]
    assert (st["accepted"], st["accepted_fallback"], st["measured_mean_accepted_kernel_ran"]) == (1, 0, 3.0)


def test_the_ledger_csv_has_the_derived_columns() -> None:
    lines = list(csv.DictReader(io.StringIO(L.to_csv(ledger()))))
    by = {r["task"]: r for r in lines}
    assert by["level1/1"]["kernel_ran"] == "true" and by["level1/1"]["build_failure"] == ""
    assert by["level1/3"]["kernel_ran"] == "false" and by["level1/3"]["build_failure"] == L.BINDING
    assert by["level1/3"]["build_failures"] == f"{L.BINDING}; {L.TORCH_REMOVED}"
    assert by["level1/7"]["kernel_ran"] == ""


@pytest.mark.parametrize(
    ("timing", "field"),
    [
        ("fast", "timing_s must be an object"),
        ({"build": {"ok": "no"}}, "timing_s.build must be an object with a boolean `ok`"),
        (
            {"build": {"ok": False, "errors": "error: x"}},
            "timing_s.build.errors must be a list of text lines",
        ),
        ({"build": {"ok": False, "errors": [], "log_tail": 3}}, "timing_s.build.log_tail must be text"),
    ],
)
def test_an_unreadable_build_record_is_named(tmp_path: Path, timing: object, field: str) -> None:
    led = ledger()
    led["rows"][2]["timing_s"] = timing
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps(led))
    with pytest.raises(L.LedgerError, match=r"rows\[2\] \(level1/3\): " + field.replace(".", r"\.")):
        L.load(path)
    # The site names the same field and skips the file.
    (tmp_path / "results" / "published").mkdir(parents=True)
    (tmp_path / "results" / "published" / "rel.json").write_text(path.read_text())
    pub = load_published(tmp_path / "results")
    assert pub.audits == [] and len(pub.errors) == 1
    name, words = field.split(" ", 1)
    assert f"row #3 (level1/3): `{name}` {words}" in pub.errors[0]


def test_the_site_reads_the_same_derivation(tmp_path: Path) -> None:
    (tmp_path / "results" / "published").mkdir(parents=True)
    (tmp_path / "results" / "published" / "rel.json").write_text(json.dumps(ledger()))
    (audit,) = load_published(tmp_path / "results").audits
    strict, kb = audit.headlines
    assert (kb.accepted, kb.fallback, kb.accepted_ran) == (4, 2, 2)
    assert kb.fallback_by_cause == [(L.BINDING, 1), (L.TORCH_REMOVED, 1)]
    assert dict(kb.fallback_statuses) == {"reproduced": 1, "slower than claimed": 1}
    assert kb.measured_mean_accepted == pytest.approx((3.0 + 1.0 + 2.51 + 0.3) / 4)
    assert kb.measured_mean_accepted_ran == pytest.approx(2.0)
    assert (strict.fallback, strict.measured_mean_accepted_ran) == (0, 3.0)
    assert audit.not_run() == [(L.BINDING, 2), (L.TORCH_REMOVED, 1), (L.SYNTAX, 1)]
    rows = {r["task"]: r for r in audit.rows}
    assert audit.fallback_tag(rows["level1/3"], "kernelbench") == f"fallback: build failed ({L.BINDING})"
    assert audit.fallback_tag(rows["level1/5"], "kernelbench") == f"fallback: build failed ({L.BINDING})"
    assert audit.fallback_tag(rows["level1/6"], "kernelbench") == f"build failed ({L.SYNTAX})"
    assert audit.fallback_tag(rows["level1/1"], "kernelbench") is None
    assert audit.torch_versions == ["2.11.0+cu130"]


def test_the_audit_command_names_the_fallbacks_apart() -> None:
    from repro.commands.audit import policy_line

    s = L.summary(ledger())["policies"]
    assert "2 of the accepted ran no released kernel" in policy_line("kernelbench", s["kernelbench"])
    assert f"'{L.BINDING}': 1" in policy_line("kernelbench", s["kernelbench"])
    assert "\n" not in policy_line("strict", s["strict"])  # none there: one line, as before
