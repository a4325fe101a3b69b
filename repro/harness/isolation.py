"""What the candidate's process may see and do: environment allow-list, uid, Landlock, limits.

Standard library only (the GPU machines can install nothing). Layers, each used where the
machine allows it and each recorded in the result's provenance (`isolation`), so a weaker run is
visible rather than silent:

- **Environment**: the candidate gets an allow-list of variables (paths, locale, CUDA and Triton
  settings), never the parent's environment minus a deny-list.
- **A separate uid** (when the evaluating process is root, as on the GPU machines and CI): the
  candidate runs as a uid no other process uses, with no supplementary groups and
  `no_new_privs`. It cannot read `/proc/<ppid>/environ` or the parent's memory, cannot signal or
  trace other processes, cannot write the checkout or read root's home or the 0700 reference
  cache; and every process it leaves behind is found by its uid and killed.
- **Landlock** (Linux 5.13+, any user, a laptop too): once its own imports are done and before the
  candidate is imported, the worker restricts itself to reading system and Python install
  folders and writing only its job folder; TCP is refused (ABI 4+), and signals and abstract
  Unix sockets outside the sandbox are refused (ABI 6+). Landlock also forbids tracing processes
  outside the sandbox, which covers `/proc/<pid>/environ` and `/proc/<pid>/mem` of the parent.
- **No network sockets, and no new Unix sockets without a uid of its own** (a seccomp filter):
  Landlock covers TCP only, and not connecting to a socket by its path, which would reach the user's
  agents (ssh-agent, D-Bus, Docker).

Every worker runs under a warden (`warden.py`) that makes it a child subreaper's descendant: a
double fork or `setsid` cannot escape it, and resource limits cap memory, CPU time, processes and
file sizes.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

# Variables the candidate may inherit (exact names), and prefixes.
ENV_ALLOW = frozenset(
    {
        "PATH", "LANG", "LANGUAGE", "TZ", "TERM", "LD_LIBRARY_PATH", "CUDA_HOME", "CUDA_PATH",
        "CUDA_ROOT", "CC", "CXX", "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES",
        "OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTORCH_CUDA_ALLOC_CONF", "NCCL_NVLS_ENABLE",
        "TORCH_SYMM_MEM_DISABLE_MULTICAST", "NVSHMEM_DISABLE_NVLS", "TRITON_PTXAS_PATH",
        "TRITON_CUOBJDUMP_PATH", "TRITON_NVDISASM_PATH", "TRITON_LIBCUDA_PATH", "TRITON_LIBDEVICE_PATH",
        # how the machine's compilers are configured (a load_inline build uses them): nvcc's host compiler
        # and flags, the compilers' header and library search paths
        "NVCC_PREPEND_FLAGS", "NVCC_APPEND_FLAGS", "NVCC_CCBIN", "CUDAHOSTCXX", "CPATH", "C_INCLUDE_PATH",
        "CPLUS_INCLUDE_PATH", "LIBRARY_PATH",
    }
)  # fmt: skip
ENV_ALLOW_PREFIXES = ("LC_",)

# The uid range the candidate processes run under when the harness is root: far above ordinary and
# subordinate (user-namespace) ids, so no file on the machine belongs to it.
UID_BASE = 1_900_000_000
UID_SPAN = 1 << 24


def allowed_env(environ: dict[str, str] | os._Environ[str] | None = None) -> dict[str, str]:
    """The allow-listed part of `environ` (default: this process's environment)."""
    src = os.environ if environ is None else environ
    return {k: v for k, v in src.items() if k in ENV_ALLOW or k.startswith(ENV_ALLOW_PREFIXES)}


def mode() -> str:
    """KERNELATLAS_ISOLATION: 'auto' (default: every layer the machine allows) or 'off' (same user,
    no Landlock: for debugging a candidate only; results say so)."""
    value = os.environ.get("KERNELATLAS_ISOLATION", "auto").strip().lower() or "auto"
    if value not in ("auto", "off"):
        raise ValueError(f"KERNELATLAS_ISOLATION={value!r}: use 'auto' or 'off'")
    return value


def _world_reachable(path: str) -> bool:
    """Whether a process of an unrelated uid (not owner, not in the group) can reach and read `path`."""
    p = Path(os.path.realpath(path))
    try:
        for parent in reversed(p.parents):
            if not parent.stat().st_mode & 0o001:
                return False
        st = p.stat()
    except OSError:
        return False
    return bool(st.st_mode & (0o005 if p.is_dir() else 0o004))


@functools.cache
def uid_blocker() -> str | None:
    """Why a separate uid cannot run the worker here (the interpreter, the checkout or the installed
    packages are not readable by other users, e.g. under /root), or None when it can."""
    needed = [sys.executable, str(Path(__file__).resolve().parents[2] / "repro" / "harness" / "worker.py")]
    for mod in ("torch", "triton"):
        spec = importlib.util.find_spec(mod)
        if spec is not None and spec.origin:
            needed.append(spec.origin)
    for path in needed:
        if not _world_reachable(path):
            return f"{os.path.realpath(path)} is not readable by other users"
    return None


def new_uid() -> int | None:
    """A fresh uid for one candidate process when we are root (and isolation is on and possible)."""
    if os.geteuid() != 0 or mode() == "off" or uid_blocker() is not None:
        return None
    return UID_BASE + int.from_bytes(os.urandom(3), "little") % UID_SPAN


def describe(uid: int | None) -> dict[str, Any]:
    """The parent's side of the isolation record: who the candidate ran as, and why."""
    if mode() == "off":
        return {"uid": "same", "note": "isolation turned off (KERNELATLAS_ISOLATION=off)"}
    if uid is not None:
        return {"uid": "own"}
    if os.geteuid() == 0:
        return {"uid": "root, capabilities dropped", "note": f"no separate uid: {uid_blocker()}"}
    return {"uid": "same"}


# --- Landlock (used inside the worker, before the candidate is imported) -----------------------

_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446  # the same numbers on every architecture
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
_FS_V1_ALL = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
_FS_REFER, _FS_TRUNCATE = 1 << 13, 1 << 14
_FS_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE
_READ = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
_NET_ALL = 1 | 2  # BIND_TCP | CONNECT_TCP
_SCOPE_ALL = 1 | 2  # ABSTRACT_UNIX_SOCKET | SIGNAL

# Read-only, where they exist: the system, and device and process information.
# Not /dev as a whole: /dev/shm holds other evaluations' job folders.
READ_ROOTS = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/opt", "/proc", "/sys",
              "/run/nvidia-persistenced")  # fmt: skip
# Device files the candidate may write (the GPU's, and the usual character devices).
DEVICE_FILES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is unavailable (old kernel, not enabled)."""
    try:
        v = _libc().syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return 0
    return max(0, int(v))


def python_read_roots() -> list[str]:
    """The interpreter's install and its import folders, less the checkout and the working folder."""
    here = Path(__file__).resolve().parents[2]
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        p = Path(entry).resolve()
        if p == here or p == Path.cwd().resolve():
            continue
        roots.add(str(p))
    return sorted(roots)


def landlock_restrict(writable: list[str], readable: list[str]) -> dict[str, Any]:
    """Restrict this process (and its future children) for good; return what was enforced.

    Raises OSError when Landlock exists but refuses (the caller records it); returns
    {"landlock": 0} when the kernel has none.
    """
    abi = landlock_abi()
    if abi < 1:
        return {"landlock": 0}
    libc = _libc()
    fs = _FS_V1_ALL | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0)
    attr = _RulesetAttr(fs, _NET_ALL if abi >= 4 else 0, _SCOPE_ALL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    rfd = libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if rfd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset: " + os.strerror(ctypes.get_errno()))
    added: list[str] = []
    try:
        rules = [(p, _READ) for p in readable] + [(p, fs) for p in writable]
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # absent here
            try:
                is_dir = os.path.isdir(path)
                allowed = (rights if is_dir else rights & _FS_FILE_RIGHTS) & fs
                rule = _PathBeneath(allowed, fd)
                if (
                    libc.syscall(_SYS_ADD_RULE, rfd, ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0))
                    == 0
                ):
                    added.append(path)
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(_SYS_RESTRICT, rfd, ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self: " + os.strerror(ctypes.get_errno()))
    finally:
        os.close(rfd)
    return {"landlock": abi, "network": abi >= 4, "signals_scoped": abi >= 6, "rules": len(added)}


def sandbox_candidate(job_dir: Path, extra_writable: list[Path] | None = None) -> dict[str, Any]:
    """Called by the worker after its imports, before importing the candidate. Never raises: what could
    not be enforced is returned as a note for the result. `extra_writable`: the candidate's own folders
    outside its job folder that the parent handed to it (e.g. its prebuilt extension)."""
    if mode() == "off":
        return {"landlock": 0, "note": "isolation turned off (KERNELATLAS_ISOLATION=off)"}
    gpu_files = [str(p) for p in Path("/dev").glob("nvidia*")] if Path("/dev").is_dir() else []
    writable = [str(job_dir), *(str(p) for p in extra_writable or []), *DEVICE_FILES, *gpu_files]
    readable = [*READ_ROOTS, *python_read_roots()]
    try:
        info = landlock_restrict(writable, readable)
    except OSError as exc:
        info = {"landlock": 0, "note": f"Landlock refused: {exc}"}
    if not info["landlock"] and "note" not in info:
        info["note"] = "Landlock is not available on this kernel: the candidate can read what its uid can"
    own_uid = UID_BASE <= os.geteuid() < UID_BASE + UID_SPAN
    try:
        refused = refuse_sockets(unix=not own_uid)
        info["network_sockets"] = refused
        if not own_uid:
            info["unix_sockets"] = refused
    except OSError as exc:
        info["note"] = (info.get("note", "") + f"; sockets not refused: {exc}").lstrip("; ")
    if os.geteuid() == 0:
        info["capabilities_dropped"] = drop_capabilities()
    return info


# seccomp (BPF) for refuse_sockets: per architecture, the audit number and the numbers of socket()
# and io_uring_setup() (io_uring can create and connect sockets without the socket() call), and of the
# seccomp() call itself.
_SECCOMP_ARCH = {"x86_64": (0xC000003E, 41, 425), "aarch64": (0xC00000B7, 198, 425)}
_NR_SECCOMP = {"x86_64": 317, "aarch64": 277}
_SECCOMP_SET_MODE_FILTER, _SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1, 4
_X32_BIT = 0x40000000
_RET_ALLOW, _RET_EACCES = 0x7FFF0000, 0x00050000 | 13
_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06
# Address families a candidate may open sockets of: netlink (glibc asks the kernel for the interfaces
# when it resolves a name) and, under a uid of its own, Unix (file permissions then keep it out of the
# user's agents). Everything else (IPv4 and IPv6 of any type, UDP included, raw packets, vsock) is
# refused: no kernel needs the network.
_AF_UNIX, _AF_NETLINK = 1, 16


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def refuse_sockets(unix: bool = True) -> str:
    """Refuse new sockets of every address family but netlink (and Unix, unless `unix`), and io_uring, in
    this process and its future children.

    Landlock refuses TCP only (ABI 4), and does not cover connecting to a Unix socket by its path (Linux
    6.18, ABI 7): a candidate running as the evaluating user could reach that user's agents by their
    well-known paths (ssh-agent, gpg-agent, the session D-Bus, a Docker daemon), even in folders it
    cannot list or read, and any candidate could send UDP. `socketpair()` still works. Raises OSError
    when the filter cannot be installed; returns "refused".
    """
    arch = _SECCOMP_ARCH.get(os.uname().machine)
    if arch is None:
        raise OSError(0, f"no socket filter for {os.uname().machine}")
    audit_arch, nr_socket, nr_io_uring = arch
    allowed = [_AF_NETLINK] + ([] if unix else [_AF_UNIX])
    head = [
        (_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (_JEQ_K, 1, 0, audit_arch),
        (_RET_K, 0, 0, _RET_EACCES),  # 32-bit compat calls (socketcall) from a 64-bit process
        (_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    # then: x32 calls, io_uring_setup, socket() by family; a jump's offset counts from the next instruction
    tail = [(_LD_W_ABS, 0, 0, 16)]  # seccomp_data.args[0], low half: the address family
    tail += [(_JEQ_K, len(allowed) - i, 0, fam) for i, fam in enumerate(allowed)]
    tail += [(_RET_K, 0, 0, _RET_EACCES), (_RET_K, 0, 0, _RET_ALLOW)]
    checks = [
        (_JGE_K, len(tail) + 1, 0, _X32_BIT),  # -> tail's EACCES (past 2 checks, 1 ALLOW, len(tail) - 2)
        (_JEQ_K, len(tail), 0, nr_io_uring),
        (_JEQ_K, 1, 0, nr_socket),
        (_RET_K, 0, 0, _RET_ALLOW),
    ]
    program = head + checks + tail
    filters = (_SockFilter * len(program))(*(_SockFilter(*ins) for ins in program))
    prog = _SockFprog(len(program), ctypes.cast(filters, ctypes.POINTER(_SockFilter)))
    libc = _libc()
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    # SPEC_ALLOW: kernels before 5.16 otherwise force speculative-store-bypass mitigation on a filtered
    # process, slowing its host code against the reference worker's (and so its parent-clocked batch).
    nr = _NR_SECCOMP.get(os.uname().machine)
    if nr is not None:
        libc.syscall.restype = ctypes.c_long
        rc = libc.syscall(ctypes.c_long(nr), ctypes.c_uint(_SECCOMP_SET_MODE_FILTER),
                          ctypes.c_uint(_SECCOMP_FILTER_FLAG_SPEC_ALLOW), ctypes.byref(prog))  # fmt: skip
        if rc == 0:
            return "refused"
        if ctypes.get_errno() not in (errno.EINVAL, errno.ENOSYS):  # EINVAL: no such flag before 4.17
            raise OSError(ctypes.get_errno(), "seccomp filter: " + os.strerror(ctypes.get_errno()))
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter: " + os.strerror(ctypes.get_errno()))
    return "refused"


def drop_capabilities() -> bool:
    """Empty the bounding, effective, permitted and inheritable capability sets (root stays uid 0 but
    can no longer override file permissions, trace, signal other users or mount)."""
    libc = _libc()
    for cap in range(64):
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP; fails harmlessly past the last capability

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    data = (ctypes.c_uint32 * 6)()
    return libc.capset(ctypes.byref(Header(0x20080522, 0)), data) == 0
