"""Templates: pointwise chains (flat) and last-dimension work over rows (row-wise), one fused pass.

`flat` is a 1-D kernel over the output's elements for chains whose operands are whole tensors (a bias
that broadcasts along rows is read at `offset % N`): the shape of the hand-written activation kernels.
`rows` gives each program ROWS rows by BLOCK_N columns, for chains that read views (SwiGLU's halves)
and for anything that reduces or scans the last dimension (softmax, norms, row sums, cumsum), which
needs the whole row in one program: BLOCK_N = next power of two >= N, with enough warps that each
thread holds WARP_ELEMS / 32 values and short rows packed several to a program. Operands are read with
contiguous row arithmetic (`row * N + col`); only views pass a row stride. Values are float32 inside.
"""

from __future__ import annotations

from repro.proposers.templates.emit import Stage
from repro.proposers.templates.lower import DTYPES, Lowered, Lowering, Unsupported
from repro.proposers.trace import Node, Trace

# Best guess first: the hand-written activations use 4096 elements and 8 warps per program.
FLAT_CONFIGS = [
    dict(BLOCK=4096, NUM_WARPS=8),
    dict(BLOCK=2048, NUM_WARPS=4),
    dict(BLOCK=1024, NUM_WARPS=4),
    dict(BLOCK=4096, NUM_WARPS=4),
    dict(BLOCK=8192, NUM_WARPS=8),
    dict(BLOCK=2048, NUM_WARPS=8),
]
# Best guess first: one row per program for rows >= TILE, 16 fp32 per thread (the hand-written
# softmax and norms); MAX_BLOCK_N only bounds column tiles of pointwise chains.
ROW_CONFIGS = [
    dict(TILE=4096, MAX_BLOCK_N=1024, WARP_ELEMS=512),
    dict(TILE=4096, MAX_BLOCK_N=2048, WARP_ELEMS=256),
    dict(TILE=8192, MAX_BLOCK_N=2048, WARP_ELEMS=512),
    dict(TILE=2048, MAX_BLOCK_N=1024, WARP_ELEMS=1024),
    dict(TILE=16384, MAX_BLOCK_N=4096, WARP_ELEMS=1024),
    dict(TILE=1024, MAX_BLOCK_N=512, WARP_ELEMS=256),
]

FLAT_LOADS = {
    "tile": "tl.load({p} + offs, mask=mask).to(tl.float32)",
    "lastdim": "tl.load({p} + offs % N, mask=mask).to(tl.float32)",
    "scalar": "tl.load({p}).to(tl.float32)",
}
ROW_LOADS = {
    "tile": "tl.load({p} + r64 * {p}_rs + c, mask={m}, other=0.0).to(tl.float32)",
    "lastdim": "tl.load({p} + c, mask=cmask, other=0.0).to(tl.float32)",
    "scalar": "tl.load({p}).to(tl.float32)",
}

FLAT_KERNEL = """
@triton.jit
def flat_kernel(out_ptr, {params}n, {lastdim_n}BLOCK: tl.constexpr, I64: tl.constexpr):
    pid = tl.program_id(0)
    if I64:
        pid = pid.to(tl.int64)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
{body}
    tl.store(out_ptr + offs, {result}.to(out_ptr.dtype.element_ty), mask=mask)
"""

ROW_KERNEL = '''
@functools.cache
def row_launch(n):
    """Column block, rows per program and warps for rows of length n."""
    full = triton.next_power_of_2(n)
    block_n = full if FULL_ROW else min(full, MAX_BLOCK_N)
    rows = max(1, TILE // block_n)
    return block_n, rows, max(1, min(16, rows * block_n // WARP_ELEMS))


@triton.jit
def row_kernel(out_ptr, {params}M, N, {extra}ROWS: tl.constexpr, BLOCK_N: tl.constexpr):
    rows = tl.program_id(0) * ROWS + tl.arange(0, ROWS)
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    r64 = rows[:, None].to(tl.int64)
    c = cols[None, :]
    rmask = r64 < M
    cmask = c < N
    mask = rmask & cmask
{body}
    {store}
'''


def lower_on_frames(
    trace: Trace, nodes: list[Node], loads: dict[str, str], views: dict[str, str] | None = None
) -> tuple[tuple[int, ...], Lowered]:
    """Lower `nodes` over the first candidate frame (output shape, then input shapes) that works."""
    if trace.output is None:
        raise Unsupported("the forward does not return a single tensor")
    frames = [trace.meta[output_name(trace)][0], *(trace.meta[n][0] for n in [*trace.inputs, *(views or {})])]
    errors = []
    for frame in dict.fromkeys(tuple(f) for f in frames if f):
        try:
            low = Lowering(trace, frame, loads, views)
            for node in nodes:
                low.node(node)
            lowered = low.finish(trace.output)
        except Unsupported as exc:
            errors.append(str(exc))
            continue
        if not any(op.kind == "tile" for op in lowered.operands):
            errors.append(f"no input has the full shape {frame}")
            continue
        if lowered.result_class not in ("tile", "row", "rowvec"):
            errors.append(f"a {lowered.result_class} result")
            continue
        return frame, lowered
    raise Unsupported("; ".join(dict.fromkeys(errors)) or "nothing to lower")


def output_name(trace: Trace) -> str:
    """The traced forward's one output tensor (templates only take traces that have one)."""
    if trace.output is None:
        raise Unsupported("the forward does not return one tensor")
    return trace.output


def out_dtype(trace: Trace) -> str:
    dtype = trace.meta[output_name(trace)][1]
    if dtype not in DTYPES:
        raise Unsupported(f"output dtype {dtype}")
    return DTYPES[dtype]


def flat_stage(trace: Trace, config: dict) -> Stage:
    """The 1-D pass over all elements; Unsupported unless every full operand is a whole tensor."""
    frame, low = lower_on_frames(trace, trace.nodes, FLAT_LOADS)
    out_shape = tuple(trace.meta[output_name(trace)][0])
    if low.full_row or low.uses_q or low.result_class != "tile" or out_shape != frame:
        raise Unsupported("not a pointwise chain over the output's shape")
    if not all(op.plain for op in low.operands):
        raise Unsupported("an operand is a view; the row template reads views")
    tiles = [op for op in low.operands if op.kind == "tile"]
    has_lastdim = any(op.kind == "lastdim" for op in low.operands)
    forward = [
        f"{op.var} = {op.expr}" + (".contiguous()" if op.kind == "tile" else "") for op in low.operands
    ]
    first = tiles[0].var
    forward += [
        f"out = torch.empty({first}.shape, dtype={out_dtype(trace)}, device={first}.device)",
        "n = out.numel()",
        "flat_kernel[(triton.cdiv(n, BLOCK),)](",
        f"    out, {''.join(op.var + ', ' for op in low.operands)}n, "
        + (f"{first}.shape[-1], " if has_lastdim else "")
        + "BLOCK=BLOCK, I64=n >= 2**31 - BLOCK, num_warps=NUM_WARPS",
        ")",
    ]
    kernel = FLAT_KERNEL.format(
        params="".join(f"{op.var}, " for op in low.operands),
        lastdim_n="N, " if has_lastdim else "",
        body="\n".join("    " + line for line in low.lines),
        result=low.result,
    )
    return Stage("flat", dict(config), kernel, forward, "out")


def row_stage(trace: Trace, nodes: list[Node], config: dict, views: dict[str, str] | None = None) -> Stage:
    """Rows by column blocks (whole rows when something reduces the last dimension)."""
    frame, low = lower_on_frames(trace, nodes, ROW_LOADS, views)
    out_shape = tuple(trace.meta[output_name(trace)][0])
    if low.result_class == "tile" and out_shape != frame:
        raise Unsupported("the output is not the shape of the tile")
    forward, params, launch, local = [], "", "", []
    for op in low.operands:
        params += f"{op.var}, "
        launch += f"{op.var}, "
        if op.kind != "tile":
            forward.append(f"{op.var} = {op.expr}")
        elif op.plain:  # whole tensor: rows are N apart once contiguous
            forward.append(f"{op.var} = {op.expr}.contiguous()")
            local.append(f"{op.var}_rs = N")
        else:  # a view: keep unit column stride, pass the row stride
            forward += [
                f"{op.var} = {op.expr}",
                f"if {op.var}.stride(-1) != 1:",
                f"    {op.var} = {op.var}.contiguous()",
            ]
            if len(frame) > 2:
                forward.append(f"{op.var} = {op.var}.reshape(-1, {op.var}.shape[-1])")
            params += f"{op.var}_rs, "
            launch += f"{op.var}.stride(0), "
    first = next(op for op in low.operands if op.kind == "tile")
    keep = len(out_shape) == len(frame)
    shape = {"tile": "shape", "rowvec": "(*shape[:-1], 1)", "row": "shape[:-1]"}[low.result_class]
    shape_src = f"{first.var}.shape" if first.plain or len(frame) == 2 else f"{first.expr}.shape"
    if low.result_class == "rowvec" and not keep:
        shape = "shape[:-1]"
    extra, extra_launch = "", ""
    if low.uses_q:
        extra, extra_launch = "R, ", f"{shape_src}[-2], "
        local.append("q = r64 % R")
    forward += [
        f"shape = {shape_src}",
        "N = shape[-1]",
        "M = shape.numel() // N",
        f"out = torch.empty({shape}, dtype={out_dtype(trace)}, device={first.var}.device)",
        "block_n, rows, warps = row_launch(N)",
        "row_kernel[(triton.cdiv(M, rows), triton.cdiv(N, block_n))](",
        f"    out, {launch}M, N, {extra_launch}ROWS=rows, BLOCK_N=block_n, num_warps=warps",
        ")",
    ]
    if low.result_class == "tile":
        store = f"tl.store(out_ptr + r64 * N + c, {low.result}.to(out_ptr.dtype.element_ty), mask=mask)"
    else:
        store = f"tl.store(out_ptr + r64, {low.result}.to(out_ptr.dtype.element_ty), mask=rmask)"
    kernel = ROW_KERNEL.format(
        params=params,
        extra=extra,
        body="\n".join("    " + line for line in [*local, *low.lines]),
        store=store,
    )
    tunables = {**config, "FULL_ROW": low.full_row}
    required = {"FULL_ROW"} if low.full_row else set()
    return Stage("row-wise", tunables, kernel, forward, "out", required)
