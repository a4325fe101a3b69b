"""Importers: released kernel sets as `PublishedKernel`s (reference program, kernel, what was claimed).

Nothing third-party is stored in this repository: each importer reads the user's local path or an
http(s) URL. Four formats:

* `cudal1` — CUDA-L1's release, `optimized_cuda_code/<gpu>.json`: one JSON object per line with
  `level_id`, `task_id`, `ref_code`, `custom_code` (null when no faster kernel was found) and claimed
  speedups `score_default` (over the eager reference), `score_torch_compile_default`,
  `score_torch_compile_reduce_overhead`, `score_cuda_graph` and `score_cudnn`.
* `kernelbench-run` — a KernelBench run folder `runs/<run>/` holding
  `level_<L>_problem_<P>_sample_<S>_kernel.py` and `eval_results.json`
  (`{"<P>": [{"sample_id", "compiled", "correctness", "runtime", "ref_runtime"?...}]}`, runtimes in
  microseconds); the reference programs come from a KernelBench checkout (`--problems`).
* `kernelbench-leaderboard` — the KernelBench leaderboard's repository (`read_leaderboard`):
  one kernel per (problem, model), the claimed speedup over eager on an L40S.
* `jsonl` — the generic format, one object per line:

      {"task": "level1/19_ReLU",             # stable key, unique in the file
       "level": 1,                            # optional
       "problem": "<reference source>",       # or "problem_path": path relative to the JSONL file
       "kernel": "<kernel source>",           # or "kernel_path"; null: released without a kernel
       "claims": [{"metric": "speedup",       # "speedup" (x over baseline) or "runtime_us"
                   "value": 2.1, "baseline": "eager", "gpu": "H100",
                   "paper": "arXiv:2507.14111", "where": "Table 3",
                   "benchmark_version": "KernelBench v0"}]}

  A single `"claim": {...}` is accepted in place of `"claims"`. The first claim is the headline.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from repro.records.provenance import checkout_commit

FORMATS = ("cudal1", "kernelbench-run", "kernelbench-leaderboard", "jsonl")
METRICS = ("speedup", "runtime_us")


class ReleaseError(ValueError):
    """A release cannot be read; the message names the file, the line or field, and the fix."""


@dataclass(frozen=True)
class Claim:
    """One number a release reports for a kernel, with what it is measured against and where."""

    metric: str
    value: float | None
    baseline: str = "eager"
    gpu: str = ""
    paper: str = ""
    where: str = ""
    benchmark_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PublishedKernel:
    """A released kernel and the reference program it claims to replace."""

    task: str
    problem_source: str
    kernel_source: str | None
    claims: tuple[Claim, ...] = ()
    level: int | None = None
    name: str = ""
    origin: str = ""
    model: str = ""  # the model that wrote the kernel, where a release lists several per task
    missing: str = ""  # why there is no kernel to judge, where the release lists one that is absent

    @property
    def headline(self) -> Claim | None:
        return self.claims[0] if self.claims else None


@dataclass
class Release:
    """What was read, from where (with the bytes' hash), and the kernels in it."""

    format: str
    source: str
    sha256: str
    kernels: list[PublishedKernel] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        return {"format": self.format, "source": self.source, "sha256": self.sha256, **self.meta}


def _is_url(source: str) -> bool:
    return bool(re.match(r"^https?://", source))


def shown(source: str | Path) -> str:
    """How a release's location is recorded in a ledger: a URL as given, a local file by its name only
    (the sha256 beside it identifies the bytes; the auditing machine's folders mean nothing to a reader)."""
    text = str(source)
    return text if _is_url(text) else Path(text).name


def read_bytes(source: str | Path) -> bytes:
    """A local file, or an http(s) URL fetched once."""
    text = str(source)
    if _is_url(text):
        try:
            with urllib.request.urlopen(text, timeout=120) as resp:  # noqa: S310 (http(s) only)
                return resp.read()
        except (urllib.error.URLError, OSError) as exc:
            raise ReleaseError(
                f"{text}: could not be fetched ({exc}); check the URL or download it"
            ) from None
    path = Path(text)
    if not path.is_file():
        raise ReleaseError(f"{path}: no such file; give the path of the release file or an http(s) URL")
    return path.read_bytes()


def _jsonl_objects(data: bytes, source: str) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for lineno, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReleaseError(
                f"{source}:{lineno}: not a JSON object ({exc.msg}); one object per line"
            ) from None
        if not isinstance(obj, dict):
            raise ReleaseError(f"{source}:{lineno}: a {type(obj).__name__}, expected a JSON object")
        out.append((lineno, obj))
    if not out:
        raise ReleaseError(f"{source}: no JSON objects found; is this the release file?")
    return out


def _model_name(problem_source: str) -> str:
    """A short name from the reference's Model docstring ('Simple model that performs ...')."""
    m = re.search(r"class Model\(.*?\):\s*(?:\"\"\"|''')\s*(.+?)(?:\n\s*\n|\"\"\"|''')", problem_source, re.S)
    if not m:
        return ""
    text = " ".join(m.group(1).split())
    text = re.sub(r"^(A |Simple )?(model|Model) (that )?(performs|computes|implements) ", "", text)
    return text[:80].rstrip(" .")


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReleaseError(f"{where}: expected a number or null, got {value!r}")
    return float(value)


# CUDA-L1 score fields: (field, baseline it is measured against).
CUDAL1_SCORES = (
    ("score_default", "eager"),
    ("score_torch_compile_default", "torch.compile"),
    ("score_torch_compile_reduce_overhead", "torch.compile reduce-overhead"),
    ("score_cuda_graph", "CUDA graph of the reference"),
    ("score_cudnn", "eager with tuned cuDNN flags"),
)
CUDAL1_PAPER = "arXiv:2507.14111"


def read_cudal1(source: str | Path, gpu: str = "", benchmark_version: str = "KernelBench v0") -> Release:
    """CUDA-L1's per-GPU release file. `gpu` defaults to the file's stem (h100.json -> 'H100')."""
    data = read_bytes(source)
    gpu = gpu or Path(str(source)).stem.upper()
    kernels: list[PublishedKernel] = []
    seen: set[str] = set()
    for lineno, obj in _jsonl_objects(data, str(source)):
        where = f"{source}:{lineno}"
        for key in ("level_id", "task_id", "ref_code", "custom_code"):
            if key not in obj:
                raise ReleaseError(
                    f"{where}: missing field {key!r}; a CUDA-L1 release line has level_id, task_id, "
                    "ref_code, custom_code and score_* fields"
                )
        level, task_id = obj["level_id"], obj["task_id"]
        if not isinstance(level, int) or not isinstance(task_id, int):
            raise ReleaseError(f"{where}: level_id and task_id must be integers, got {level!r}, {task_id!r}")
        if not isinstance(obj["ref_code"], str) or not obj["ref_code"].strip():
            raise ReleaseError(
                f"{where}: ref_code is empty; the reference program is needed to judge the kernel"
            )
        if obj["custom_code"] is not None and not isinstance(obj["custom_code"], str):
            raise ReleaseError(f"{where}: custom_code must be a string or null")
        task = f"level{level}/{task_id}"
        if task in seen:
            raise ReleaseError(f"{where}: task {task} appears twice; one line per task")
        seen.add(task)
        claims = tuple(
            Claim(
                "speedup",
                _number(obj.get(fld), f"{where}: {fld}"),
                base,
                gpu,
                CUDAL1_PAPER,
                fld,
                benchmark_version,
            )  # fmt: skip
            for fld, base in CUDAL1_SCORES
            if fld in obj
        )
        # The release writes "no kernel" as null and, for some tasks, as the string "None".
        code = obj["custom_code"] if (obj["custom_code"] or "").strip() not in ("", "None") else None
        kernels.append(
            PublishedKernel(
                task,
                obj["ref_code"],
                code,
                claims,
                level,
                _model_name(obj["ref_code"]),
                f"{shown(source)}:{lineno}",
            )  # fmt: skip
        )
    meta = {"name": "CUDA-L1", "paper": CUDAL1_PAPER, "gpu": gpu, "benchmark_version": benchmark_version}
    return Release("cudal1", shown(source), hashlib.sha256(data).hexdigest(), kernels, meta)


_KB_KERNEL = re.compile(r"^level_(\d+)_problem_(\d+)_sample_(\d+)_kernel\.py$")


def kernelbench_problem(root: Path, level: int, problem_id: int) -> Path:
    """`<root>/KernelBench/level<L>/<P>_*.py` (or `<root>/level<L>/...`) of a KernelBench checkout."""
    for base in (root / "KernelBench" / f"level{level}", root / f"level{level}"):
        if base.is_dir():
            hits = sorted(base.glob(f"{problem_id}_*.py"))
            if hits:
                return hits[0]
            raise ReleaseError(
                f"{base}: no problem file {problem_id}_*.py; is --problems the right checkout?"
            )
    raise ReleaseError(
        f"{root}: neither KernelBench/level{level} nor level{level} exists; give --problems the root of a "
        "KernelBench checkout"
    )


def read_kernelbench_run(run_dir: str | Path, problems: str | Path, gpu: str = "",
                         benchmark_version: str = "", paper: str = "") -> Release:  # fmt: skip
    """A KernelBench run folder: its kernels, and the claims of its `eval_results.json`."""
    run = Path(run_dir)
    results_path = run / "eval_results.json"
    if not run.is_dir():
        raise ReleaseError(f"{run}: not a folder; give the run folder runs/<run>/")
    if not results_path.is_file():
        raise ReleaseError(f"{results_path}: missing; evaluate the run with KernelBench first")
    raw = results_path.read_bytes()
    try:
        results = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"{results_path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(results, dict):
        raise ReleaseError(f"{results_path}: expected an object keyed by problem id")
    files = {m.groups(): p for p in sorted(run.iterdir()) if (m := _KB_KERNEL.match(p.name))}
    if not files:
        raise ReleaseError(f"{run}: no level_<L>_problem_<P>_sample_<S>_kernel.py files")
    kernels = []
    digest = hashlib.sha256(raw)
    for (lvl, pid, sid), path in sorted(files.items(), key=lambda kv: tuple(int(x) for x in kv[0])):
        level, problem_id, sample = int(lvl), int(pid), int(sid)
        entries = results.get(str(problem_id)) or []
        if isinstance(entries, dict):  # older runs: {"<P>": {"<S>": {...}}} or one record
            entries = (
                list(entries.values()) if all(isinstance(v, dict) for v in entries.values()) else [entries]
            )
        rec = next((e for e in entries if isinstance(e, dict) and int(e.get("sample_id", 0)) == sample), None)
        where = f"{results_path}: problem {problem_id} sample {sample}"
        claims: tuple[Claim, ...] = ()
        if rec is not None and rec.get("correctness"):
            runtime = _number(rec.get("runtime"), f"{where}: runtime")
            ref = _number(rec.get("ref_runtime"), f"{where}: ref_runtime")
            if runtime and runtime > 0 and ref and ref > 0:
                claims = (Claim("speedup", ref / runtime, "eager", gpu, paper, where, benchmark_version),)
            elif runtime and runtime > 0:
                claims = (Claim("runtime_us", runtime, "", gpu, paper, where, benchmark_version),)
        elif rec is not None:
            claims = (
                Claim(
                    "speedup", None, "eager", gpu, paper, f"{where} (claimed incorrect)", benchmark_version
                ),
            )
        problem_path = kernelbench_problem(Path(problems), level, problem_id)
        source = path.read_text()
        digest.update(source.encode())
        kernels.append(
            PublishedKernel(
                f"level{level}/{problem_id}/s{sample}",
                problem_path.read_text(),
                source,
                claims,
                level,
                problem_path.stem,
                f"{run.name}/{path.name}",
            )  # fmt: skip
        )
    meta = {"name": run.name, "paper": paper, "gpu": gpu, "benchmark_version": benchmark_version}
    return Release("kernelbench-run", run.name, digest.hexdigest(), kernels, meta)


def _text_field(obj: dict[str, Any], key: str, base: Path | None, where: str, required: bool) -> str | None:
    if obj.get(key) is not None:
        if not isinstance(obj[key], str):
            raise ReleaseError(f"{where}: {key} must be a string of source code")
        return obj[key]
    rel = obj.get(f"{key}_path")
    if rel is not None:
        if base is None:
            raise ReleaseError(f"{where}: {key}_path needs a local JSONL file; inline the source as {key!r}")
        path = (base / rel).resolve()
        if not path.is_file():
            raise ReleaseError(f"{where}: {key}_path {rel!r} does not exist (relative to {base})")
        return path.read_text()
    if required:
        raise ReleaseError(f"{where}: give {key!r} (the source) or {key + '_path'!r}")
    return None


def read_jsonl(source: str | Path, defaults: dict[str, str] | None = None) -> Release:
    """The generic JSONL format (see the module's docstring). `defaults` fill empty claim fields."""
    data = read_bytes(source)
    local = not _is_url(str(source))
    base = Path(str(source)).resolve().parent if local else None
    kernels, seen = [], set()
    digest = hashlib.sha256(data)
    for lineno, obj in _jsonl_objects(data, str(source)):
        where = f"{source}:{lineno}"
        task = obj.get("task")
        if not isinstance(task, str) or not task.strip():
            raise ReleaseError(f"{where}: missing 'task' (a stable key such as 'level1/19_ReLU')")
        if task in seen:
            raise ReleaseError(f"{where}: task {task!r} appears twice; keys must be unique")
        seen.add(task)
        problem = _text_field(obj, "problem", base, where, required=True)
        kernel = _text_field(obj, "kernel", base, where, required=False)
        raw_claims = obj.get("claims", [obj["claim"]] if "claim" in obj else [])
        if not isinstance(raw_claims, list):
            raise ReleaseError(f"{where}: claims must be a list of objects")
        claims = []
        for i, c in enumerate(raw_claims):
            cw = f"{where}: claims[{i}]"
            if not isinstance(c, dict):
                raise ReleaseError(f"{cw}: expected an object with metric and value")
            unknown = sorted(set(c) - set(Claim.__dataclass_fields__))
            if unknown:
                raise ReleaseError(
                    f"{cw}: unknown field(s) {unknown}; known: {sorted(Claim.__dataclass_fields__)}"
                )
            metric = c.get("metric", "speedup")
            if metric not in METRICS:
                raise ReleaseError(f"{cw}: metric {metric!r} is not one of {METRICS}")
            fields = {k: str(c.get(k) or (defaults or {}).get(k, "")) for k in
                      ("baseline", "gpu", "paper", "where", "benchmark_version")}  # fmt: skip
            fields["baseline"] = fields["baseline"] or "eager"
            claims.append(Claim(metric, _number(c.get("value"), f"{cw}: value"), **fields))
        level = obj.get("level")
        if level is not None and not isinstance(level, int):
            raise ReleaseError(f"{where}: level must be an integer")
        assert problem is not None
        if kernel is not None:
            digest.update(kernel.encode())
        kernels.append(PublishedKernel(task, problem, kernel, tuple(claims), level,
                                       str(obj.get("name") or _model_name(problem)),
                                       f"{shown(source)}:{lineno}"))  # fmt: skip
    meta = {k: v for k, v in (defaults or {}).items() if v}
    meta.setdefault("name", Path(str(source)).stem)
    return Release("jsonl", shown(source), digest.hexdigest(), kernels, meta)


# ---------------------------------------------------------------- the KernelBench leaderboard
# Importer for the KernelBench leaderboard ("Kernelsseum"): the top correct kernels per problem.
#
# The leaderboard's repository (a user's checkout, or the http(s) URL of its raw files) holds:
#
# * `docs/assets/data.json` — an object keyed by problem, `"Level <L>: <N>_<Name>"`, each value a list of
#   up to five solutions, best first: `{"display_name": <model>, "torch_speedup": <x over PyTorch eager>,
#   "file": <hash>}`. A problem no model solved correctly has an empty list.
# * `docs/assets/solutions/<hash>.py` — the solution, a KernelBench `ModelNew` program.
# * `docs/assets/problems/l<L>_p<N>.py` — the problem, a KernelBench `Model` program (the reference).
#
# The speedups were measured by the KernelBench authors on an NVIDIA L40S against the PyTorch reference run
# eagerly, with KernelBench's first release (correctness at atol = rtol = 1e-2 over five random inputs).
# Each (problem, model) pair becomes one kernel, keyed `level<L>/<N>/<model>`. A solution or problem file
# that is listed but absent is reported (a kernel with no source and the reason), never dropped; a problem
# with no solution is kept as a task released without a kernel.

LEADERBOARD_NAME = "KernelBench leaderboard"
LEADERBOARD_PAPER = "arXiv:2502.10517"
LEADERBOARD_GPU = "L40S"
LEADERBOARD_VERSION = "KernelBench v0"
# Where data.json may sit below the path given: the repository root, its docs/ folder, or assets/ itself.
LEADERBOARD_LAYOUTS = ("docs/assets", "assets", "")
_KEY = re.compile(r"^Level (\d+): (\d+)_(.*)$")
_HASH = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
SOLUTION_FIELDS = ("display_name", "torch_speedup", "file")


def _fetch(url: str) -> bytes | None:
    """The bytes at `url`; None when the server says it does not exist (404)."""
    try:
        with urllib.request.urlopen(url, timeout=120) as resp:  # noqa: S310 (http(s) only)
            return resp.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise ReleaseError(f"{url}: could not be fetched (HTTP {exc.code}); check the URL") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ReleaseError(f"{url}: could not be fetched ({exc}); check the URL or use a checkout") from None


class _LeaderboardFiles:
    """The leaderboard's assets folder, local or remote: `get(rel)` returns bytes or None if absent."""

    def __init__(self, source: str) -> None:
        self.source = source.rstrip("/")
        self.remote = _is_url(self.source)
        if not self.remote:
            path = Path(self.source)
            if path.is_file() and path.name == "data.json":
                self.base = str(path.parent)
                return
            if not path.is_dir():
                raise ReleaseError(
                    f"{path}: no such folder; give the root of a KernelBenchLeaderboard checkout "
                    "(holding docs/assets/data.json) or the http(s) URL of its raw files"
                )
        for layout in LEADERBOARD_LAYOUTS:
            base = f"{self.source}/{layout}".rstrip("/")
            if self._read(f"{base}/data.json") is not None:
                self.base = base
                return
        tried = ", ".join(f"{layout}/data.json".lstrip("/") for layout in LEADERBOARD_LAYOUTS)
        raise ReleaseError(
            f"{self.source}: no leaderboard data found (tried {tried}); give the root of a "
            "KernelBenchLeaderboard checkout or the URL of its raw files"
        )

    def _read(self, where: str) -> bytes | None:
        if self.remote:
            return _fetch(where)
        path = Path(where)
        return path.read_bytes() if path.is_file() else None

    def where(self, rel: str) -> str:
        return f"{self.base}/{rel}"

    def name(self, rel: str) -> str:
        """The file's path in the leaderboard's repository, as rows record it."""
        return f"docs/assets/{rel}"

    def get(self, rel: str) -> bytes | None:
        return self._read(self.where(rel))

    def get_many(self, rels: list[str]) -> dict[str, bytes | None]:
        """Several files; fetched eight at a time from a URL."""
        if not self.remote:
            return {r: self.get(r) for r in rels}
        with ThreadPoolExecutor(max_workers=8) as pool:
            return dict(zip(rels, pool.map(self.get, rels), strict=True))


def repository_commit(source: str) -> tuple[str | None, str | None]:
    """(repository, commit) of the leaderboard: from a checkout's git, or from a raw.githubusercontent.com
    URL (`/<owner>/<repo>/<40-hex commit>/`). Either is None when it cannot be known."""
    if _is_url(source):
        m = re.match(r"^https?://raw\.githubusercontent\.com/([^/]+/[^/]+)/(?:refs/heads/)?([^/]+)", source)
        if m:
            return m.group(1), m.group(2) if _COMMIT.match(m.group(2)) else None
        return None, None
    # The repository's root holds docs/assets/data.json; the path given may be that root or a folder below.
    given = Path(source).resolve()
    root = next((p for p in (given, *given.parents) if (p / "docs" / "assets" / "data.json").is_file()), None)
    if root is None:
        return None, None

    def git(*args: str) -> str:
        try:
            out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return ""
        return out.stdout.strip() if out.returncode == 0 else ""

    # A copy without its own git history inside another repository must not take that repository's commit.
    commit = checkout_commit(root)
    if commit is None:
        return None, None
    remote = git("config", "--get", "remote.origin.url")
    m = re.search(r"github\.com[:/]([^/]+/[^/]+?)(?:\.git)?/?$", remote)
    repo = m.group(1) if m else (remote or None)
    return repo, commit


def _leaderboard_solutions(data: Any, where: str) -> list[tuple[int, int, str, int, dict[str, Any]]]:
    """(level, problem id, problem name, rank, solution) for every listed solution, checked field by field;
    a problem with no solution appears once with rank -1 and an empty solution."""
    if not isinstance(data, dict):
        raise ReleaseError(f"{where}: expected an object keyed by problem ('Level 1: 19_ReLU')")
    out: list[tuple[int, int, str, int, dict[str, Any]]] = []
    seen: set[tuple[int, int, str]] = set()
    for key, sols in data.items():
        m = _KEY.match(key)
        if not m:
            raise ReleaseError(
                f"{where}: key {key!r} is not 'Level <L>: <N>_<Name>'; is this the leaderboard's data.json?"
            )
        level, pid, name = int(m.group(1)), int(m.group(2)), f"{m.group(2)}_{m.group(3)}"
        if not isinstance(sols, list):
            raise ReleaseError(f"{where}: {key!r}: expected a list of solutions, got {type(sols).__name__}")
        if not sols:
            out.append((level, pid, name, -1, {}))
        for rank, sol in enumerate(sols):
            at = f"{where}: {key!r}[{rank}]"
            if not isinstance(sol, dict):
                raise ReleaseError(f"{at}: expected an object with {', '.join(SOLUTION_FIELDS)}")
            missing = [f for f in SOLUTION_FIELDS if f not in sol]
            if missing:
                raise ReleaseError(
                    f"{at}: missing field(s) {missing}; a solution has {', '.join(SOLUTION_FIELDS)}"
                )
            model, fname, speedup = sol["display_name"], sol["file"], sol["torch_speedup"]
            if not isinstance(model, str) or not model.strip():
                raise ReleaseError(f"{at}: display_name must name the model, got {model!r}")
            if not isinstance(fname, str) or not _HASH.match(fname):
                raise ReleaseError(
                    f"{at}: file {fname!r} is not a solution name (letters, digits, '-' or '_': "
                    "docs/assets/solutions/<file>.py)"
                )
            if speedup is not None and (isinstance(speedup, bool) or not isinstance(speedup, int | float)):
                raise ReleaseError(f"{at}: torch_speedup must be a number or null, got {speedup!r}")
            if (level, pid, model) in seen:
                raise ReleaseError(
                    f"{at}: model {model!r} is listed twice for this problem; one solution each"
                )
            seen.add((level, pid, model))
            out.append((level, pid, name, rank, sol))
    return out


def read_leaderboard(source: str | Path, gpu: str = "", benchmark_version: str = "", paper: str = "",
                     commit: str = "") -> Release:  # fmt: skip
    """The leaderboard at `source` (checkout or raw-files URL) as a release of one kernel per (problem, model).

    `commit` names the leaderboard's commit where the checkout has no git history and the URL none."""
    files = _LeaderboardFiles(str(source))
    raw = files.get("data.json")
    assert raw is not None  # _LeaderboardFiles found it
    data_where = files.where("data.json")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"{data_where}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    entries = _leaderboard_solutions(data, data_where)
    gpu, paper = gpu or LEADERBOARD_GPU, paper or LEADERBOARD_PAPER
    version = benchmark_version or LEADERBOARD_VERSION
    problem_rel = {(lv, pid): f"problems/l{lv}_p{pid}.py" for lv, pid, *_ in entries}
    solution_rel = [f"solutions/{sol['file']}.py" for *_, rank, sol in entries if rank >= 0]
    blobs = files.get_many(sorted(set(problem_rel.values())) + solution_rel)
    digest = hashlib.sha256(raw)
    for rel in sorted(blobs):
        if blobs[rel] is not None:
            digest.update(f"\0{rel}\0".encode() + (blobs[rel] or b""))
    kernels: list[PublishedKernel] = []
    missing: list[str] = []
    for level, pid, name, rank, sol in entries:
        key = f"Level {level}: {name}"
        p_rel = problem_rel[(level, pid)]
        problem = blobs[p_rel]
        if rank < 0:
            kernels.append(
                PublishedKernel(
                    f"level{level}/{pid}",
                    (problem or b"").decode("utf-8", "replace"),
                    None,
                    (),
                    level,
                    name,
                    f"{files.name('data.json')}: {key!r}",
                    missing="the leaderboard lists no correct solution for this problem",
                )  # fmt: skip
            )
            continue
        model = sol["display_name"].strip()
        s_rel = f"solutions/{sol['file']}.py"
        solution = blobs[s_rel]
        why = ""
        if problem is None:
            why = f"problem file {files.name(p_rel)} is missing from the leaderboard"
        elif solution is None:
            why = f"solution file {files.name(s_rel)} is missing from the leaderboard"
        if why:
            missing.append(f"{key} / {model}: {why}")
        value = sol["torch_speedup"]
        claim = Claim("speedup", None if value is None else float(value), "eager", gpu, paper,
                      f"leaderboard {key!r}, rank {rank + 1}", version)  # fmt: skip
        kernels.append(
            PublishedKernel(
                f"level{level}/{pid}/{model}",
                (problem or b"").decode("utf-8", "replace"),
                None if why else (solution or b"").decode("utf-8", "replace"),
                (claim,),
                level,
                name,
                files.name(s_rel),
                model=model,
                missing=why,
            )  # fmt: skip
        )
    repository, found = repository_commit(str(source))
    commit = commit or found or ""
    meta = {
        "name": LEADERBOARD_NAME,
        "paper": paper,
        "gpu": gpu,
        "benchmark_version": version,
        "repository": repository,
        "commit": commit or None,
        "problems": len({(lv, pid) for lv, pid, *_ in entries}),
        "models": sorted({k.model for k in kernels if k.model}),
        "missing_sources": missing,
    }
    return Release("kernelbench-leaderboard", shown(source), digest.hexdigest(), kernels, meta)


def load_release(fmt: str, source: str | Path, *, problems: str | Path | None = None, gpu: str = "",
                 paper: str = "", benchmark_version: str = "", commit: str = "") -> Release:  # fmt: skip
    """Dispatch on `fmt` (one of FORMATS). `commit`: the release's commit, where the source cannot tell
    (a file downloaded from a repository carries none); recorded for every format."""
    if commit and not _COMMIT.match(commit):
        raise ReleaseError(
            f"--release-commit {commit!r} is not a commit id: give the 40-hex id (`git rev-parse HEAD`)"
        )
    release = _read_release(fmt, source, problems=problems, gpu=gpu, paper=paper,
                            benchmark_version=benchmark_version, commit=commit)  # fmt: skip
    if commit and not release.meta.get("commit"):
        release.meta["commit"] = commit
    return release


def _read_release(fmt: str, source: str | Path, *, problems: str | Path | None, gpu: str, paper: str,
                  benchmark_version: str, commit: str) -> Release:  # fmt: skip
    if fmt == "cudal1":
        return read_cudal1(source, gpu=gpu, benchmark_version=benchmark_version or "KernelBench v0")
    if fmt == "kernelbench-run":
        if problems is None:
            raise ReleaseError("--format kernelbench-run needs --problems PATH (a KernelBench checkout)")
        return read_kernelbench_run(
            source, problems, gpu=gpu, paper=paper, benchmark_version=benchmark_version
        )
    if fmt == "kernelbench-leaderboard":
        return read_leaderboard(
            source, gpu=gpu, benchmark_version=benchmark_version, paper=paper, commit=commit
        )
    if fmt == "jsonl":
        return read_jsonl(source, {"gpu": gpu, "paper": paper, "benchmark_version": benchmark_version})
    raise ReleaseError(f"unknown release format {fmt!r}; choose one of {', '.join(FORMATS)}")
