"""A library of parameterized Triton kernel templates, one module per operator family.

`rows` covers pointwise chains (a flat 1-D pass, or rows by column blocks when operands are views) and
last-dimension reductions, scans and norms; `matmul` covers (batched) products with a fused pointwise
epilogue, followed when needed by a row-wise stage; `colreduce` covers reductions over the first
dimension; `xent` covers per-row cross-entropy. `lower` translates traced aten ops into Triton
statements for the templates that fuse arbitrary chains, and `emit` assembles the candidate file.

A task gets the first template, in `plans` order, that can express its whole forward; each template
lists its configurations best guess first, so a short budget tries the likeliest winners.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from repro.proposers.templates import colreduce, matmul, rows, xent
from repro.proposers.templates.emit import Stage, assemble
from repro.proposers.templates.lower import Unsupported
from repro.proposers.trace import ROW_OPS, Ref, Trace

__all__ = ["Unsupported", "choose", "instantiate"]

Plan = tuple[str, list[dict], Callable[[dict], list[Stage]]]


def matmul_then_rows(trace: Trace, config: dict) -> list[Stage]:
    """A product (with its pointwise epilogue) into `h`, then the row-wise rest of the forward reading `h`."""
    idx = matmul.product_index(trace)
    end = next((i for i in range(idx + 1, len(trace.nodes)) if trace.nodes[i].op in ROW_OPS), None)
    src = trace.nodes[end].args[0] if end is not None else None
    if not isinstance(src, Ref):
        raise Unsupported("no row reduction after the matrix product")
    mm_keys = {k for c in (*matmul.FP32_CONFIGS, *matmul.HALF_CONFIGS) for k in c}
    mm_config = {k: v for k, v in config.items() if k in mm_keys}
    row_config = {k: v for k, v in config.items() if k in rows.ROW_CONFIGS[0]}
    first = matmul.matmul_stage(trace, mm_config, end=end, output=src.name)
    return [first, rows.row_stage(trace, trace.nodes[end:], row_config, views={src.name: "h"})]


def plans(trace: Trace) -> Iterator[Plan]:
    """Every template that might express the trace, most specific first."""
    yield "cross-entropy", xent.CONFIGS, lambda c: [xent.xent_stage(trace, c)]
    yield "column-reduction", colreduce.CONFIGS, lambda c: [colreduce.colreduce_stage(trace, c)]
    if trace.family == "matmul":
        configs = matmul.configs_for(trace)
        yield "matmul", configs, lambda c: [matmul.matmul_stage(trace, c)]
        both = [{**c, **rows.ROW_CONFIGS[0]} for c in configs]
        yield "matmul+row-wise", both, lambda c: matmul_then_rows(trace, c)
        return
    yield "flat", rows.FLAT_CONFIGS, lambda c: [rows.flat_stage(trace, c)]
    yield "row-wise", rows.ROW_CONFIGS, lambda c: [rows.row_stage(trace, trace.nodes, c)]


def choose(trace: Trace) -> Plan:
    """The first template that renders the trace with its best-guess configuration (or Unsupported)."""
    errors = []
    for name, configs, build in plans(trace):
        try:
            build(configs[0])
        except Unsupported as exc:
            errors.append(f"{name}: {exc}")
            continue
        return name, configs, build
    raise Unsupported("; ".join(errors))


def instantiate(trace: Trace, reference: str, config: dict) -> str:
    """Candidate source for `trace` with the chosen template's tunables set to `config`."""
    _, _, build = choose(trace)
    return assemble(trace, reference, build(config))
