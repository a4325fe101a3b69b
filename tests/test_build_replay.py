"""Build replay: a candidate's `load_inline`/`load` call that its prebuild saw fail at the compiler, with the
same inputs, fails at once with the recorded error; anything else builds as before. The end-to-end test
compiles for real (C++ only, `load` of plain sources and a compiler flag that fails at once, so no torch
headers are compiled) and skips where no compiler or ninja is installed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch.utils.cpp_extension as ext

from repro.harness import EvalSettings, buildreplay
from repro.harness.buildreplay import describe, replayable, sanitize
from repro.published.audit import Auditor
from repro.published.releases import load_release
from repro.records import published_ledger as L

KERNELS = Path(__file__).parents[1] / "repro" / "gauntlet" / "kernels"
PROBLEM = (KERNELS / "problem_scale_add.py").read_text()
FAST = EvalSettings(device="cpu", correctness_trials=1, timing_iters=4, min_timing_iters=2, warmup=0,
                    baselines=("eager",), timeout_s=120, max_timing_s=1.0)  # fmt: skip
GCC_ERROR = (
    "Error building extension 'kern': [1/2] c++ -MMD -MF main.o.d -c /b/kern/main.cpp -o main.o\n"
    "FAILED: main.o\nc++ -MMD -MF main.o.d -c /b/kern/main.cpp -o main.o\n"
    "/b/kern/main.cpp:4:64: error: 'forward' was not declared in this scope\n"
    "ninja: build stopped: subcommand failed.\n"
)


def key(kind: str, *args: object, **kwargs: object) -> dict:
    return describe(kind, getattr(ext, kind), args, kwargs)


def test_a_call_is_keyed_on_what_decides_its_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "ext"))
    monkeypatch.delenv("TORCH_CUDA_ARCH_LIST", raising=False)
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "h.h").write_text("int g();\n")
    base = key("load_inline", "kern", "int f();", functions=["f"], extra_include_paths=[str(inc)])
    assert len(base["digest"]) == 64 and base["name"] == "kern"
    # the same call spelt otherwise, or with output-only arguments changed, has the same key
    assert key("load_inline", name="kern", cpp_sources="int f();", functions=["f"],
               extra_include_paths=[str(inc)], verbose=True)["digest"] == base["digest"]  # fmt: skip
    # what the harness sets differently in the two processes, and no build reads, is left out
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert key("load_inline", "kern", "int f();", functions=["f"], extra_include_paths=[str(inc)]) == base

    def differs(part: str, k: dict) -> None:
        assert k["digest"] != base["digest"]
        assert buildreplay.differing(k["parts"], base["parts"]) == [part]

    differs(
        "arguments", key("load_inline", "kern", "int f(); ", functions=["f"], extra_include_paths=[str(inc)])
    )
    differs("arguments", key("load_inline", "kern", "int f();", functions=["f"], extra_include_paths=[str(inc)],
                             extra_cflags=["-O3"]))  # fmt: skip
    (inc / "h.h").write_text("int g(int);\n")  # an include folder's content
    differs(
        "includes", key("load_inline", "kern", "int f();", functions=["f"], extra_include_paths=[str(inc)])
    )
    (inc / "h.h").write_text("int g();\n")
    monkeypatch.setenv("CPATH", "/opt/other/include")  # the compilers' own settings
    differs("environment CPATH", key("load_inline", "kern", "int f();", functions=["f"],
                                     extra_include_paths=[str(inc)]))  # fmt: skip
    monkeypatch.delenv("CPATH")
    monkeypatch.setenv("CXX", shutil.which("sh") or "/bin/sh")  # another compiler
    changed = key("load_inline", "kern", "int f();", functions=["f"], extra_include_paths=[str(inc)])
    assert buildreplay.differing(changed["parts"], base["parts"]) == ["tools", "environment CXX"]
    monkeypatch.delenv("CXX", raising=False)

    # `load`: each file's path and content, and what it includes with `#include "..."`
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        (d / "k.cpp").write_text('#include "k.h"\nint f() { return K; }\n')
        (d / "k.h").write_text("#define K 1\n")
    ka, kb = key("load", "m", [str(a / "k.cpp")]), key("load", "m", sources=[str(b / "k.cpp")])
    assert ka["digest"] != kb["digest"] and ka["content_digest"] == kb["content_digest"]
    (b / "k.h").write_text("#define K 2\n")
    assert key("load", "m", [str(b / "k.cpp")])["content_digest"] != ka["content_digest"]
    # a CUDA build without an arch list (torch would ask the GPU), or arguments that are not plain data
    assert "why" in key("load_inline", "kern", "", cuda_sources="__global__ void k() {}")
    assert "why" in key("load_inline", "kern", "int f();", functions=[object()])
    assert "why" in key("load_inline")  # a call torch itself would refuse


def test_only_a_failure_at_the_compiler_is_replayed() -> None:
    assert replayable("kern", "RuntimeError", GCC_ERROR)
    nvcc = GCC_ERROR.replace("/b/kern/main.cpp:4:64: error:", '/b/kern/cuda.cu(7): error: identifier "x" is')
    assert replayable("kern", "RuntimeError", nvcc)
    for text in ("c++: fatal error: Killed signal terminated program cc1plus",
                 "main.cpp:1:10: fatal error: k.h: No such file or directory",
                 "nvcc fatal   : Could not open output file: No space left on device",
                 "/usr/bin/ld: cannot find -lcublasLt\ncollect2: error: ld returned 1 exit status",
                 "c++: internal compiler error: Segmentation fault",
                 "/bin/sh: 1: /usr/local/cuda/bin/nvcc: not found"):  # fmt: skip
        assert not replayable("kern", "RuntimeError", GCC_ERROR + text), text
    assert not replayable("kern", "ImportError", GCC_ERROR)
    assert not replayable("other", "RuntimeError", GCC_ERROR)  # another extension's failure
    assert not replayable("ker", "RuntimeError", GCC_ERROR)
    assert not replayable("kern", "RuntimeError", "Error building extension 'kern'")  # no diagnostic
    # a verbose build: torch streamed ninja's output, the error holds the first line only
    output = GCC_ERROR.split("\n", 1)[1]
    assert replayable("kern", "RuntimeError", "Error building extension 'kern'", output)
    assert not replayable("kern", "RuntimeError", "Error building extension 'kern'", output + "Killed\n")
    assert replayable("kern", "RuntimeError", GCC_ERROR.replace("'kern'", "'kern_v1'"))  # torch's second name


def test_forged_or_malformed_records_are_dropped() -> None:
    """The record is written by the release's own code in its prebuild: only well-formed failures at the
    compiler, and successful `load`s with their sources, reach the candidate."""
    good = {"name": "kern", "kind": "load_inline", "digest": "a" * 64, "parts": {"arguments": "b" * 64},
            "ok": False, "error_type": "RuntimeError", "message": GCC_ERROR}  # fmt: skip
    assert sanitize([good]) == [good] and sanitize(sanitize([good])) == [good]
    forged = [
        {**good, "ok": True},  # a failed build claimed as built: nothing to replay
        {**good, "digest": "xyz"},
        {**good, "message": GCC_ERROR + "x" * buildreplay.MAX_MESSAGE},
        {**good, "message": "Error building extension 'kern': it is fine, really"},
        {**good, "kind": "setup"},
        {**good, "parts": {"arguments": ["not", "a", "hash"]}},
        {**good, "ok": True, "kind": "load", "content_digest": "c" * 64, "sources": [["relative.cpp", "d" * 64]]},
        "not a record",
    ]  # fmt: skip
    assert sanitize(forged) == [] and sanitize({"not": "a list"}) == []
    assert len(sanitize([good] * 1000)) == buildreplay.MAX_RECORDS


# The kernels of the end-to-end test. Each appends what each build call gave to `seen.jsonl` in the build
# root (TORCH_EXTENSIONS_DIR: the prebuild's and the candidate's alike), marked with where it ran (the
# prebuild runs in the build folder, where `kernel_source.py` lies), then computes relu(x * w + y).
# `-save-temps` makes the compiler write the preprocessed source (`k.ii`) beside the build before it
# fails: a trace of every compiler run in that folder.
KERNEL = """import json, os, tempfile
import torch
from torch import nn
from torch.utils.cpp_extension import load, load_inline
WHERE = "prebuild" if os.path.isfile("kernel_source.py") else "candidate"
ROOT = os.environ["TORCH_EXTENSIONS_DIR"]
def seen(what):
    with open(os.path.join(ROOT, "seen.jsonl"), "a") as f:
        f.write(json.dumps([WHERE, what]) + "\\n")
def written(folder, text):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "k.cpp")
    with open(path, "w") as f:
        f.write(text)
    return path
def attempt(build):
    try:
        build()
        seen("built")
    except Exception as e:
        seen([type(e).__name__, str(e)])
{build}
class ModelNew(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n))
    def forward(self, x, y):
        return torch.relu(x * self.weight + y)
"""
INLINE = (
    "load_inline(name='kern_fails', cpp_sources='int f(int a) { return a; }', functions=['f'], "
    "extra_cflags=['-fkernelatlas-no-such-option'])"
)
BUILDS = {
    # fails at the compiler in the prebuild and the candidate alike: an option the compiler does not know
    # (load_inline; called twice, as kernels built per construction do), a source that does not compile,
    # quietly and verbosely (torch then streams ninja's output instead of putting it in the error)
    "fails": f"attempt(lambda: {INLINE})\nattempt(lambda: {INLINE})\n"
    "attempt(lambda: load(name='kern_fails_too', extra_cflags=['-save-temps'],\n"
    "                     sources=[written(os.path.join(ROOT, 'src'), 'int h() { return nope; }')]))\n"
    "attempt(lambda: load(name='kern_verbose', extra_cflags=['-save-temps'], verbose=True,\n"
    "                     sources=[written(os.path.join(ROOT, 'v'), 'int v() { return nope; }')]))",
    # the prebuild's source does not compile; the candidate's, another text, does
    "differs": "attempt(lambda: load(name='kern_differs', is_python_module=False, sources=[written(\n"
    "    os.path.join(ROOT, 'src'), 'int f() { return 1; }' if WHERE == 'candidate' else\n"
    "    'int f() { return undeclared; }')]))",
    # builds; its source is written into a fresh temporary folder each time
    "builds": "attempt(lambda: load(name='kern_builds', is_python_module=False,\n"
    "                     sources=[written(tempfile.mkdtemp(), 'int g() { return 2; }')]))",
    # fails; its prebuild then rewrites the record: the failure claimed as a success, plus a failure at the
    # compiler for another build. Its candidate then replaces the hook's code.
    "forges": "if WHERE == 'candidate':\n"
    "    import repro.harness.buildreplay as br\n"
    "    br.Replayer.wrap = lambda self, kind, original: original\n"
    "attempt(lambda: load(name='kern_forges', extra_cflags=['-save-temps'],\n"
    "                     sources=[written(os.path.join(ROOT, 'src'), 'int h() { return nope; }')]))\n"
    "if WHERE == 'prebuild':\n"
    "    records = json.load(open('prebuild.json'))\n"
    "    fake = dict(records[0], name='kern_other', ok=False, error_type='RuntimeError',\n"
    "                message=records[0]['message'].replace('kern_forges', 'kern_other'))\n"
    "    records[0]['ok'] = True\n"
    "    json.dump(records + [fake], open('prebuild.json', 'w'))",
}


@pytest.mark.skipif(shutil.which("c++") is None or shutil.which("ninja") is None,
                    reason="needs a C++ compiler and ninja (torch's extension builder)")  # fmt: skip
def test_a_failed_prebuild_is_replayed_in_the_candidate_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CXX", raising=False)
    lines = [{"task": f"t/{name}", "problem": PROBLEM, "kernel": KERNEL.format(build=build)}
             for name, build in BUILDS.items()]  # fmt: skip
    rel_file = tmp_path / "rel.jsonl"
    rel_file.write_text("\n".join(json.dumps(x) for x in lines))
    rel = load_release("jsonl", rel_file, benchmark_version="KernelBench v0")
    out = tmp_path / "ledger.json"
    logs: list[str] = []
    auditor = Auditor(rel, out, FAST, work_dir=tmp_path / "work", build_workers=2, log=logs.append)
    counts = auditor.run(rel.kernels)
    assert counts["judged"] == 4 and counts["replayed"] == 1 and counts["lane_s_median"] > 0, (counts, logs)
    rows = {r["task"].split("/")[1]: r for r in L.load(out)["rows"]}
    builds = {name: row["timing_s"]["build"] for name, row in rows.items()}
    folder = {name: tmp_path / "work" / "builds" / row["kernel_sha256"][:16] for name, row in rows.items()}

    def seen(name: str) -> dict[str, list]:
        lines = [json.loads(line) for line in (folder[name] / "seen.jsonl").read_text().splitlines()]
        return {w: [what for where, what in lines if where == w] for w in ("prebuild", "candidate")}

    def compiled_after_prebuild(name: str, ext: str) -> bool:
        """Whether the compiler ran in the extension's folder after the prebuild recorded its outcome."""
        return (folder[name] / ext / "k.ii").stat().st_mtime_ns > (
            folder[name] / "prebuild.json"
        ).stat().st_mtime_ns

    # Failures at the compiler: replayed. The candidate's except clauses got what the prebuild's did, type
    # and text (the second identical call torch's ImportError, as after a failed build), and the compiler
    # did not run again.
    b = builds["fails"]
    replayed = ["kern_fails", "kern_fails_too", "kern_verbose"]
    assert not b["ok"] and b["cause"] == "compile" and b["replayable"] == replayed, b
    assert b["replayed_in_candidate"] == replayed and "missed_in_candidate" not in b, b
    got = seen("fails")
    assert got["candidate"] == got["prebuild"] and len(got["prebuild"]) == 4, got
    inline, again, plain, verbose = got["candidate"]
    assert inline[0] == "RuntimeError" and inline[1].startswith("Error building extension 'kern_fails': ")
    assert "unrecognized command-line option" in inline[1] and again[0] == "ImportError"
    assert plain[0] == "RuntimeError" and "nope" in plain[1] and "was not declared" in plain[1]
    assert verbose == ["RuntimeError", "Error building extension 'kern_verbose'"]
    assert any("/v/k.cpp" in e and "error" in e for e in b["errors"]), b  # the compiler's line, streamed
    assert not compiled_after_prebuild("fails", "kern_fails_too")
    assert not compiled_after_prebuild("fails", "kern_verbose")
    assert rows["fails"]["policies"]["kernelbench"]["verdict"] == "correct"  # its PyTorch fallback

    # Another source than the prebuild's: compiled for real, and it builds (a failed prebuild never keeps
    # a build from succeeding); the row says which part of the call's key differed.
    b = builds["differs"]
    assert b["replayable"] == ["kern_differs"] and "replayed_in_candidate" not in b, b
    assert b["missed_in_candidate"] == {"kern_differs": ["sources"]}
    assert b["rebuilt_in_candidate"] == ["kern_differs"] and seen("differs")["candidate"] == ["built"]

    # Built by the prebuild from a fresh temporary folder: the candidate's call, with the same content in
    # another temporary folder, is pointed at the prebuild's files and loads its build: ninja ran nothing.
    b = builds["builds"]
    assert b["ok"] and b["rebuilt_in_candidate"] == [] and b["redirected_in_candidate"] == ["kern_builds"], b
    assert seen("builds") == {"prebuild": ["built"], "candidate": ["built"]}

    # The forger gains nothing: its forged success is not honoured (the candidate compiled and met the
    # real error), the forged failure names no build of its own, and replacing the hook's code is refused.
    b = builds["forges"]
    assert b.get("replayable") == ["kern_other"] and "replayed_in_candidate" not in b, b
    got = seen("forges")
    assert got["candidate"] == got["prebuild"] and "nope" in got["candidate"][0][1], got
    assert compiled_after_prebuild("forges", "kern_forges")
    for verdict in rows["forges"]["policies"].values():
        assert verdict["verdict"] == "rejected" and "buildreplay" in verdict["reason"], verdict

    summary = L.load(out)["summary"]["builds"]
    assert summary["prebuilt"] == 4 and summary["replayed_in_candidate"] == 1
    assert summary["seconds_per_kernel"]["failed_replayed"]["n"] == 1


def test_a_record_garbled_by_the_kernel_is_read_as_none(tmp_path: Path) -> None:
    """The prebuild's record lies in the kernel's own build folder: nested too deeply for the JSON reader,
    or too large, it is no record at all (not a stopped audit)."""
    from repro.published.audit import prebuild

    b = tmp_path / "b"
    b.mkdir()
    src = b / "kernel_source.py"
    for garbled in ("'[' * 200000", "'[' + ' ' * (17 << 20) + ']'"):
        src.write_text(
            f"import atexit\natexit.register(lambda: open('prebuild.json', 'w').write({garbled}))\n"
        )
        info = prebuild(src, b, "", timeout_s=60)
        assert not info["ok"] and info["extensions"] == [] and info["replay"] == [], info
        assert info["errors"] == ["no load_inline/load call was reached by the prebuild"]
