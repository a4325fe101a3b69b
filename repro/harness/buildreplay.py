"""Build replay: a candidate's `load_inline`/`load` call that its audit prebuild already made with the same
inputs, and saw fail at the compiler, fails again at once with the recorded error instead of compiling.

Why: most released kernels that build an extension on torch 2.11 fail to compile, catch the error and fall
back to PyTorch; their candidate then ran the same failing compile again (about 20 s of its GPU lane).

What a call is keyed on (`describe`): everything that decides the build's outcome as torch sees it at the
call: every argument but `verbose` (sources' text; for `load`, each file's absolute path and content),
the files the sources include with `#include "..."` (followed recursively from each file's folder), the
content of every include folder named in the arguments or flags, the environment (less the variables the
harness sets differently in the two processes and no build reads: `ENV_IGNORED`), the compilers, nvcc and
ninja (resolved path, size, modification time), Python and torch. A CUDA build without
`TORCH_CUDA_ARCH_LIST` (torch would ask the GPU) and any argument that is not plain data are never keyed.

What is replayed (`replayable`): only torch's own build failure (`RuntimeError("Error building extension
'<name>'...")`) whose output holds a compiler diagnostic and nothing that points at the machine instead of
the sources (a missing file or tool, a killed or crashed process, memory, disk, permissions, the linker).
How (`Replayer`): the call runs torch's own code up to the step that checks the tools and runs ninja, which
raises the recorded error instead; torch's bookkeeping is as after a failed build (a second identical call
raises torch's `ImportError`, as it would). A `verbose` call's output (ninja's, which torch then streams
instead of putting it in the error) is recorded, judged and printed again too.

Trust. The record is written by the prebuild's process, which runs the release's own code, so a kernel can
forge it. The hook is installed by the worker before the candidate is imported (and before the tamper
snapshot, which then covers this module's functions), it only ever raises, in the candidate's own call,
the exception that call would raise, and never returns a module or skips a build that could succeed: a
forged record can only make that kernel's own build fail, which its code could do by raising. Nothing the hook holds is read by the
harness to judge; what it reports (`Replayer.report`) is a note in the result. A successful `load` whose
sources the prebuild wrote elsewhere (a fresh temporary folder) is redirected to the prebuild's files,
only when their content (and that of what they include) is the same at the call: torch then finds its
build up to date, as if the candidate had named those files itself.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

KINDS = ("load_inline", "load")
MAX_RECORDS = 64
MAX_MESSAGE = 50_000
MAX_INCLUDES = 256  # files reached through `#include "..."`
MAX_TREE_FILES = 2_000  # files in one include folder
MAX_TREE_BYTES = 64 << 20

# Set differently by the harness in the prebuild and the candidate process (or by torch once CUDA is
# initialised), and read by no compiler, nvcc, ninja or torch's extension builder to decide a build.
ENV_IGNORED = frozenset({
    "HOME", "TMPDIR", "USER", "LOGNAME", "PWD", "OLDPWD", "SHLVL", "_", "CUDA_VISIBLE_DEVICES",
    "CUDA_CACHE_PATH", "CUDA_MODULE_LOADING", "MAX_JOBS", "PYTHONDONTWRITEBYTECODE", "PYTHONNOUSERSITE",
    "TERM", "TZ", "LANG", "LANGUAGE",
})  # fmt: skip
ENV_IGNORED_PREFIXES = (
    "TRITON_",
    "KERNELATLAS_",
    "LC_",
    "OMP_",
    "MKL_",
    "NCCL_",
    "NVSHMEM_",
    "TORCHINDUCTOR_",
)

# A compiler's diagnostic: gcc/clang `file:line:col: error:`, nvcc `file(line): error`, a driver's `c++: error:`.
_DIAGNOSTIC = re.compile(
    r":\d+(?::\d+)?: (?:fatal )?error\b|\(\d+\): (?:catastrophic )?error\b|^\S+: error: ", re.M
)
# Anything that says the machine, not the sources, stopped the build: not replayed.
_MACHINE = re.compile(
    r"No such file|not found|killed|signal|out of memory|cannot allocate|No space left|Resource temporarily|"
    r"Too many open files|Permission denied|Read-only file system|internal compiler error|Segmentation fault|"
    r"Bus error|cannot execute|Input/output error|Text file busy|quota|temporary file|Interrupted|"
    r"ld returned|undefined reference|cannot find -l|collect2|terminated|timed out|Stop\.",
    re.IGNORECASE,
)
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"\n]+)"', re.M)
_FLAG_DIRS = ("-I", "-isystem", "-iquote", "-idirafter", "-include")


def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _plain(value: Any) -> Any:
    """JSON-ready data (dicts as ordered pairs: torch binds functions in their order); TypeError otherwise."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return [[_plain(k), _plain(v)] for k, v in value.items()]
    raise TypeError(f"argument of type {type(value).__name__}")


def _read(path: str, limit: int = MAX_TREE_BYTES) -> bytes | None:
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError:
        return None
    if len(data) > limit:
        raise ValueError(f"{path}: larger than {limit} bytes")
    return data


def _tree(path: str) -> Any:
    """A folder's files by relative path and content (a file's content; None if absent)."""
    if os.path.isfile(path):
        data = _read(path)
        return None if data is None else _sha(data)
    if not os.path.isdir(path):
        return None
    found: list[list[str]] = []
    total = 0
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            data = _read(full)
            if data is None:
                continue
            total += len(data)
            found.append([os.path.relpath(full, path), _sha(data)])
            if len(found) > MAX_TREE_FILES or total > MAX_TREE_BYTES:
                raise ValueError(f"{path}: too large to key a build on")
    return found


def _includes(texts: list[tuple[str, str]]) -> list[list[Any]]:
    """Every file reached through `#include "..."` from (text, its folder), recursively: [as written,
    resolved path, content hash or None when absent there (the compiler then searches the include folders,
    which are keyed too)]."""
    seen: dict[str, list[Any]] = {}
    todo = list(texts)
    while todo:
        text, folder = todo.pop()
        for spec in _INCLUDE.findall(text):
            path = os.path.normpath(spec if os.path.isabs(spec) else os.path.join(folder, spec))
            if path in seen:
                continue
            if len(seen) >= MAX_INCLUDES:
                raise ValueError("too many included files to key a build on")
            data = _read(path) if os.path.isfile(path) else None
            seen[path] = [spec, path, None if data is None else _sha(data)]
            if data is not None:
                todo.append((data.decode(errors="replace"), os.path.dirname(path)))
    return sorted(seen.values(), key=lambda e: e[1])


def _flag_paths(flags: Any) -> list[str]:
    """Folders and files named by include flags (`-I dir`, `-Idir`, `-isystem dir`, `-include f`, ...)."""
    items = [str(f) for f in flags] if isinstance(flags, list | tuple) else []
    out: list[str] = []
    for i, flag in enumerate(items):
        if flag in _FLAG_DIRS:
            out += items[i + 1 : i + 2]
            continue
        joined = next(
            (o for o in _FLAG_DIRS[1:] if flag.startswith(o)), "-I" if flag.startswith("-I") else ""
        )
        if joined:
            out.append(flag[len(joined) :])
    return out


def _tool(cmd: str | None) -> list[Any]:
    path = shutil.which(cmd) if cmd else None
    if not path:
        return [cmd, None]
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError:
        return [cmd, real, None]
    return [cmd, real, st.st_size, st.st_mtime_ns]


def env_key(environ: Any = None) -> dict[str, str]:
    """The environment as a build sees it: each variable's value hashed, less `ENV_IGNORED`."""
    src = os.environ if environ is None else environ
    return {
        k: _sha(v)[:16]
        for k, v in sorted(src.items())
        if k not in ENV_IGNORED and not k.startswith(ENV_IGNORED_PREFIXES)
    }


def describe(kind: str, fn: Any, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """What decides the outcome of `fn(*args, **kwargs)` (`fn`: torch's `load_inline` or `load`), as
    `{"name", "kind", "digest", "parts"}`; for `load`, also `content_digest` (the same with the sources'
    folders left out) and `sources` ([path, content hash]). `{"name", "kind", "why"}` when the call
    cannot be keyed (it is then never replayed). Called before the build: it reads, never writes."""
    try:
        return _describe(kind, fn, args, kwargs)
    except Exception as exc:  # never in the way of the build itself
        name = str(kwargs.get("name", args[0] if args else "?"))[:256]
        return {"name": name, "kind": kind, "why": f"{type(exc).__name__}: {exc}"[:300]}


def _describe(kind: str, fn: Any, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    import torch
    import torch.utils.cpp_extension as ext

    name = str(kwargs.get("name", args[0] if args else "?"))
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = {k: _plain(v) for k, v in bound.arguments.items() if k != "verbose"}
        name = str(arguments.get("name"))
        build_root = arguments.get("build_directory") or os.path.join(
            os.environ.get("TORCH_EXTENSIONS_DIR") or ext.get_default_build_root(), name
        )
        texts: list[tuple[str, str]] = []
        sources: list[list[Any]] = []
        if kind == "load_inline":
            for key in ("cpp_sources", "cuda_sources", "sycl_sources"):
                value = arguments.get(key)
                for text in [value] if isinstance(value, str) else value or []:
                    texts.append((str(text), build_root))
            cuda = bool(arguments.get("cuda_sources")) or bool(arguments.get("with_cuda"))
        else:
            paths = arguments.get("sources")
            paths = [paths] if isinstance(paths, str) else list(paths or [])
            for p in paths:
                path = os.path.abspath(str(p))
                data = _read(path)
                sources.append([path, None if data is None else _sha(data)])
                if data is not None:
                    texts.append((data.decode(errors="replace"), os.path.dirname(path)))
            arguments["sources"] = [s[0] for s in sources]
            cuda = bool(arguments.get("with_cuda")) or any(s[0].endswith((".cu", ".cuh")) for s in sources)
        if cuda and not os.environ.get("TORCH_CUDA_ARCH_LIST"):
            raise ValueError("a CUDA build without TORCH_CUDA_ARCH_LIST (torch would ask the GPU)")
        folders = [os.path.abspath(str(p)) for p in arguments.get("extra_include_paths") or []]
        for flags in ("extra_cflags", "extra_cuda_cflags", "extra_sycl_cflags"):
            folders += [os.path.join(build_root, p) for p in _flag_paths(arguments.get(flags))]
        includes = _includes(texts)
        trees = [[f, _tree(f)] for f in folders]
    except (TypeError, ValueError, OSError) as exc:
        return {"name": name, "kind": kind, "why": f"{type(exc).__name__}: {exc}"[:300]}
    cxx = os.environ.get("CXX") or "c++"
    nvcc = os.path.join(ext.CUDA_HOME, "bin", "nvcc") if ext.CUDA_HOME else "nvcc"
    parts: dict[str, Any] = {
        "arguments": _sha(json.dumps([kind, arguments])),
        "sources": _sha(json.dumps(sources)),
        "includes": _sha(json.dumps([includes, trees])),
        "tools": _sha(json.dumps([_tool(c) for c in (cxx, "gcc", "g++", nvcc, "ninja")] + [ext.CUDA_HOME])),
        "python": _sha(
            json.dumps([sys.version, sys.executable, torch.__version__, torch.version.cuda, torch.__file__])
        ),
        "environment": env_key(),
    }
    out: dict[str, Any] = {"name": name, "kind": kind, "digest": _sha(json.dumps(parts, sort_keys=True)),
                           "parts": parts}  # fmt: skip
    if kind == "load":
        # the same call with the sources' folders left out: what a fresh temporary folder changes
        relative = [[os.path.basename(p), h] for p, h in sources]
        loose = {**arguments, "sources": [r[0] for r in relative]}
        local = [[spec, h] for spec, _, h in includes]  # included files by the name the sources use
        out["content_digest"] = _sha(json.dumps([kind, loose, relative, local, trees,
                                                 {k: v for k, v in parts.items() if k not in
                                                  ("arguments", "sources", "includes")}], sort_keys=True))  # fmt: skip
        out["sources"] = sources
    return out


def replayable(name: str, error_type: str, message: str, output: str = "") -> bool:
    """Whether a recorded failure is torch's build failure at the compiler, with nothing in its output that
    points at the machine instead of the sources (see the module's docstring). `output`: what a `verbose`
    build printed (torch then streams ninja's output instead of putting it in the error)."""
    return (
        error_type == "RuntimeError"
        and bool(re.match(rf"Error building extension '{re.escape(name)}(_v\d+)?'", message))
        and bool(_DIAGNOSTIC.search(message + "\n" + output))
        and not _MACHINE.search(message + "\n" + output)
    )


@contextlib.contextmanager
def _stdout_to(file: Any) -> Iterator[None]:
    """This process's standard output (the descriptor: ninja writes to it) into `file` for a while."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(file.fileno(), 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def recording(kind: str, build: Any, record: Callable[[dict[str, Any]], None]) -> Any:
    """`build` (torch's `load_inline` or `load`) recording each call's key (`describe`, taken before the
    build) and outcome through `record`: the prebuild's side. A `verbose` call's output (ninja's, streamed
    rather than put in the error) is kept too, and printed as it would have been."""

    @functools.wraps(build)
    def call(*args: Any, **kwargs: Any) -> Any:
        key = describe(kind, build, args, kwargs)
        try:
            verbose = bool(inspect.signature(build).bind(*args, **kwargs).arguments.get("verbose"))
        except TypeError:
            verbose = False
        t0 = time.monotonic()
        with tempfile.TemporaryFile() if verbose else contextlib.nullcontext() as out:
            failure: BaseException | None = None
            with _stdout_to(out) if out is not None else contextlib.nullcontext():
                try:
                    module = build(*args, **kwargs)
                except BaseException as exc:
                    failure = exc
            printed = ""
            if out is not None:
                out.seek(0)
                printed = out.read(MAX_MESSAGE + 1).decode(errors="replace")
                out.seek(0)
                sys.stdout.write(out.read().decode(errors="replace"))
                sys.stdout.flush()
        entry = {**key, "ok": failure is None, "seconds": round(time.monotonic() - t0, 1)}
        if failure is not None:
            text = str(failure)
            entry.update(
                error=f"{type(failure).__name__}: {text}"[:MAX_MESSAGE], error_type=type(failure).__name__
            )
            if len(text) <= MAX_MESSAGE:
                entry["message"] = text
            if verbose and len(printed) <= MAX_MESSAGE:
                entry["output"] = printed
        record(entry)
        if failure is not None:
            raise failure
        return module

    return call


_HEX = re.compile(r"[0-9a-f]{64}")


def _short_strings(d: Any, limit: int = 64) -> bool:
    return (
        isinstance(d, dict)
        and len(d) <= 4096
        and all(
            isinstance(k, str) and len(k) <= 256 and isinstance(v, str) and len(v) <= limit
            for k, v in d.items()
        )
    )


def sanitize(records: Any) -> list[dict[str, Any]]:
    """The prebuild's records (written by the release's own code: untrusted) that a candidate may replay:
    well-formed, failures that are `replayable`, successes of `load` with their sources; at most
    `MAX_RECORDS`."""
    out: list[dict[str, Any]] = []
    for r in records if isinstance(records, list) else []:
        if len(out) >= MAX_RECORDS:
            break
        if not isinstance(r, dict) or r.get("kind") not in KINDS:
            continue
        name, digest, parts = r.get("name"), r.get("digest"), r.get("parts")
        if not (
            isinstance(name, str) and len(name) <= 256 and isinstance(digest, str) and _HEX.fullmatch(digest)
        ):
            continue
        if not (isinstance(parts, dict) and _short_strings({k: v for k, v in parts.items() if k != "environment"})
                and _short_strings(parts.get("environment", {}), 16)):  # fmt: skip
            continue
        keep = {"name": name, "kind": r["kind"], "digest": digest, "parts": parts}
        message, error_type, output = r.get("message"), r.get("error_type"), r.get("output", "")
        if r.get("ok") is False and isinstance(message, str) and isinstance(error_type, str):
            if (isinstance(output, str) and len(message) + len(output) <= MAX_MESSAGE
                    and replayable(name, error_type, message, output)):  # fmt: skip
                out.append({**keep, "ok": False, "error_type": error_type, "message": message,
                            **({"output": output} if output else {})})  # fmt: skip
        elif r.get("ok") is True and r["kind"] == "load":
            sources, cdigest = r.get("sources"), r.get("content_digest")
            if (isinstance(cdigest, str) and _HEX.fullmatch(cdigest) and isinstance(sources, list)
                    and 0 < len(sources) <= 256
                    and all(isinstance(s, list) and len(s) == 2 and isinstance(s[0], str) and os.path.isabs(s[0])
                            and isinstance(s[1], str) and _HEX.fullmatch(s[1]) for s in sources)):  # fmt: skip
                out.append({**keep, "ok": True, "content_digest": cdigest, "sources": sources})
    return out


def differing(parts: dict[str, Any], recorded: dict[str, Any]) -> list[str]:
    """Which parts of a call's key differ from a record's (environment variables by name), to tell why a
    build the prebuild saw fail was compiled again."""
    out = [
        k
        for k in sorted(set(parts) | set(recorded))
        if k != "environment" and parts.get(k) != recorded.get(k)
    ]
    env, old = parts.get("environment") or {}, recorded.get("environment") or {}
    out += [f"environment {k}" for k in sorted(set(env) | set(old)) if env.get(k) != old.get(k)]
    return out[:12]


BUILD_STEP = "_write_ninja_file_and_build_library"  # torch's step that checks the tools and runs ninja


class Replayer:
    """The hook around torch's `load_inline` and `load` in a candidate's process (`install`).

    A call with the key of a recorded failure goes through torch's own code (its sources written, its
    version bookkept, its lock taken) up to the step that would run ninja (`BUILD_STEP`), which raises the
    recorded error instead, when torch names the build as the prebuild's torch did. So the call raises
    what it would, and the process is left as after a failed build: an identical call after it raises
    torch's `ImportError` as it would, and one with other inputs is named `<name>_v1`."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.failed = {r["digest"]: r for r in records if r.get("ok") is False}
        self.built = {
            r["content_digest"]: r for r in records if r.get("ok") is True and r.get("content_digest")
        }
        self.local = threading.local()  # the failure to replay at this thread's build step, if any
        # What happened, for the result (a note: the candidate's process could rewrite it).
        self.report: dict[str, Any] = {"replayed": [], "redirected": [], "missed": {}}

    def wrap(self, kind: str, original: Any) -> Any:
        @functools.wraps(original)
        def build(*args: Any, **kwargs: Any) -> Any:
            key = describe(kind, original, args, kwargs)
            record = self.failed.get(key.get("digest", ""))
            if record is not None and record["name"] == key["name"]:
                self.local.pending = record
                try:
                    return original(*args, **kwargs)
                finally:
                    self.local.pending = None
            same_name = [r for r in self.failed.values() if r["name"] == key["name"]]
            if same_name:
                why = (
                    differing(key["parts"], same_name[0]["parts"]) if "parts" in key else [key.get("why", "")]
                )
                self.report["missed"][key["name"]] = why
            done = self.built.get(key.get("content_digest", ""))
            if done is not None and done["name"] == key["name"] and key["sources"] != done["sources"]:
                now = [[p, _sha(d) if (d := _read(p)) is not None else None] for p, _ in done["sources"]]
                if now == done["sources"] and [h for _, h in now] == [h for _, h in key["sources"]]:
                    # the prebuild's files, with the same content now: torch finds its build up to date
                    bound = inspect.signature(original).bind(*args, **kwargs)
                    bound.arguments["sources"] = [p for p, _ in done["sources"]]
                    self.report["redirected"].append(key["name"])
                    return original(*bound.args, **bound.kwargs)
                self.report["missed"][key["name"]] = ["the prebuild's sources are gone or changed"]
            return original(*args, **kwargs)

        return build

    def gate(self, step: Any) -> Any:
        @functools.wraps(step)
        def build_step(name: Any, *args: Any, **kwargs: Any) -> Any:
            record, self.local.pending = getattr(self.local, "pending", None), None
            if record is not None:
                if record["message"].startswith(f"Error building extension '{name}'"):
                    self.report["replayed"].append(record["name"])
                    if record.get("output"):  # a verbose build: ninja's output, streamed as torch lets it
                        sys.stdout.flush()
                        os.write(1, record["output"].encode())
                    # what torch raises when ninja fails: the build's output after that prefix
                    raise RuntimeError(record["message"]) from subprocess.CalledProcessError(
                        1, ["ninja", "-v"]
                    )
                self.report["missed"][record["name"]] = [f"torch names this build {str(name)[:100]}"]
            return step(name, *args, **kwargs)

        return build_step


def install(records: list[dict[str, Any]]) -> Replayer | None:
    """Wrap torch's `load_inline` and `load` for this process with `records` (`sanitize`d by the parent);
    None (nothing replayed) where this torch has no `BUILD_STEP` to gate."""
    import torch.utils.cpp_extension as ext

    step = getattr(ext, BUILD_STEP, None)
    if not callable(step):
        return None
    replayer = Replayer(records)
    setattr(ext, BUILD_STEP, replayer.gate(step))
    for kind in KINDS:
        setattr(ext, kind, replayer.wrap(kind, getattr(ext, kind)))
    return replayer
