"""What a reference program computes, as a list of aten ops: the input to the offline proposers and to memory.

The reference `Model` runs once on its smallest CPU shape under a `TorchDispatchMode` that records every
aten op with its arguments, naming each tensor it sees (forward inputs `in0..`, parameters and buffers by
attribute path, intermediates `v0..`). Templates lower this trace to a Triton kernel; the operator
signature (family plus the compute ops) is how the cross-task memory recognises similar tasks.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from repro import pysource
from repro.tasks import load_problem, problem_shapes

# Ops that only re-view, allocate or copy memory: they never decide an operator family.
VIEW_OPS = frozenset(
    [
        "t",
        "transpose",
        "permute",
        "expand",
        "view",
        "_unsafe_view",
        "reshape",
        "split",
        "unbind",
        "detach",
        "alias",
        "clone",
        "contiguous",
        "lift_fresh",
        "lift_fresh_copy",
    ]
)
MATMUL_OPS = frozenset({"mm", "addmm", "bmm"})
ROW_OPS = frozenset(
    [
        "sum",
        "mean",
        "amax",
        "amin",
        "linalg_vector_norm",
        "logsumexp",
        "_softmax",
        "_log_softmax",
        "native_layer_norm",
        "cumsum",
    ]
)


@dataclass(frozen=True)
class Ref:
    """A tensor argument, by the name the trace gave it."""

    name: str


@dataclass
class Node:
    op: str  # aten name without namespace, e.g. "add"
    overload: str  # e.g. "Tensor"
    args: tuple
    kwargs: dict
    outs: list[str]


@dataclass
class Trace:
    """The reference's forward as aten ops on named tensors, with the shapes seen at trace time."""

    inputs: list[str]
    params: dict[str, str]  # trace name -> attribute path on the model ("bias", "fc.weight")
    nodes: list[Node]
    output: str | None  # None when the forward returns something other than one tensor
    meta: dict[str, tuple[tuple[int, ...], torch.dtype]] = field(default_factory=dict)
    shape: dict[str, Any] = field(default_factory=dict)

    @property
    def compute_ops(self) -> list[str]:
        return [n.op for n in self.nodes if n.op not in VIEW_OPS]

    @property
    def family(self) -> str:
        ops = self.compute_ops
        if any(op in MATMUL_OPS for op in ops):
            return "matmul"
        if any(op in ROW_OPS for op in ops):
            return "rowwise"
        return "elementwise" if ops else "copy"

    @property
    def signature(self) -> str:
        """Family and the ordered compute ops: equal signatures mean the same computation up to shapes."""
        return f"{self.family}:{'+'.join(self.compute_ops)}"


class _Recorder(TorchDispatchMode):
    def __init__(self, names: dict[int, str], keep: list[torch.Tensor]) -> None:
        super().__init__()
        self.names = names
        self.keep = keep  # keeps traced tensors alive so their ids stay unique
        self.nodes: list[Node] = []
        self.meta: dict[str, tuple[tuple[int, ...], torch.dtype]] = {}

    def _ref(self, value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            name = self.names.get(id(value))
            if name is None:  # a tensor made outside the trace (e.g. a module-level constant)
                name = self._name(value, prefix="c")
            return Ref(name)
        if isinstance(value, list | tuple):
            return type(value)(self._ref(v) for v in value)
        return value

    def _name(self, tensor: torch.Tensor, prefix: str = "v") -> str:
        name = f"{prefix}{len(self.names)}"
        self.names[id(tensor)] = name
        self.keep.append(tensor)
        self.meta[name] = (tuple(tensor.shape), tensor.dtype)
        return name

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        node_args, node_kwargs = self._ref(args), {k: self._ref(v) for k, v in kwargs.items()}
        out = func(*args, **kwargs)
        items = out if isinstance(out, list | tuple) else [out]
        outs = [self._name(t) if isinstance(t, torch.Tensor) else "" for t in items]
        schema = func._schema
        self.nodes.append(
            Node(schema.name.split("::")[-1], schema.overload_name, node_args, node_kwargs, outs)
        )
        return out


def trace_module(problem: Any, shape: dict[str, Any] | None = None) -> Trace:
    """Trace an imported problem module's Model on `shape` (default: its first CPU shape)."""
    shape = dict(shape if shape is not None else problem_shapes(problem, "cpu")[0])
    torch.manual_seed(0)
    model = problem.Model(*problem.get_init_inputs(**shape))
    inputs = list(problem.get_inputs(**shape))
    names: dict[int, str] = {}
    keep: list[torch.Tensor] = []
    rec = _Recorder(names, keep)
    input_names = []
    for i, x in enumerate(inputs):
        if isinstance(x, torch.Tensor):
            input_names.append(f"in{i}")
            names[id(x)] = f"in{i}"
            rec.meta[f"in{i}"] = (tuple(x.shape), x.dtype)
        else:
            input_names.append(f"arg{i}")
    params = {}
    for path, p in [*model.named_parameters(), *model.named_buffers()]:
        name = f"p_{path.replace('.', '_')}"
        names[id(p)] = name
        rec.meta[name] = (tuple(p.shape), p.dtype)
        params[name] = path
    with torch.no_grad(), rec:
        out = model(*inputs)
    output = names.get(id(out)) if isinstance(out, torch.Tensor) else None
    return Trace(input_names, params, rec.nodes, output, rec.meta, shape)


def trace_problem(path: str | Path) -> Trace:
    """Trace the problem file at `path` (imported afresh)."""
    return trace_module(load_problem(path))


def reference_source(problem_source: str, class_name: str = "ReferenceModel") -> str:
    """The problem file without its input generators and task metadata, with `Model` renamed.

    A generated candidate embeds this so that it constructs exactly the reference's parameters (same
    code, same RNG draws) without importing the problem file.
    """
    tree = pysource.parse(problem_source)
    drop_funcs = {"get_inputs", "get_init_inputs", "flops", "bytes_moved"}
    drop_names = {"SHAPES", "CPU_SHAPES", "ALLOWED_OPS", "ATOL", "RTOL", "DTYPE"}
    lines = problem_source.splitlines()
    keep: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name in drop_funcs:
            continue
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            flat = [e for t in targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
            if all(isinstance(t, ast.Name) and t.id in drop_names for t in flat):
                continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt is tree.body[0]:
            continue  # the module docstring
        start = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))]) - 1
        segment = "\n".join(lines[start : stmt.end_lineno])
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Model":
            segment = segment.replace("class Model(", f"class {class_name}(", 1)
            segment = segment.replace("super(Model, self)", f"super({class_name}, self)")
        keep.append(segment)
    return "\n".join(keep)
