"""Template: reduction over the first dimension (column sums, means, maxima) of a row-major matrix.

Reading down a column is strided, so each program owns BLOCK_N columns of a slab of rows and
accumulates a [BLOCK_M, BLOCK_N] register tile while walking the slab (every load is a contiguous row
segment). With SINGLE_PASS, when there are enough column blocks to occupy half the multiprocessors,
a program walks all the rows of its columns and writes the result: one launch. Otherwise the rows are
split into slabs of ROWS_PER_SLAB that write one partial per column, and a second short kernel
combines the slabs, reading every slab's partials of its columns in one 2-D load (a loop of one load
per slab left the GPU waiting on memory latency slab after slab); the second launch costs about 4 us.
"""

from __future__ import annotations

from repro.proposers.templates.emit import Stage
from repro.proposers.templates.lower import DTYPES, Unsupported
from repro.proposers.trace import Ref, Trace

# Ordered by `python -m repro.bench.templates` on an H200 (8192^2 fp32: single pass 0.073 ms, slabs
# 0.077-0.079 ms, torch.compile 0.076 ms). Unrolling more than 8 row blocks per slab ran 4x slower
# there, hence the pipelined loop for longer slabs and for the single pass. The last two (deeper
# single-pass tiles over 32 columns) ran within 0.5% of the first two under the harness's timer on
# another H200; 16-column tiles ran 5-15% slower and are left out.
CONFIGS = [
    dict(ROWS_PER_SLAB=256, BLOCK_M=128, BLOCK_N=64, NUM_WARPS=8, UNROLL=False, SINGLE_PASS=True),
    dict(ROWS_PER_SLAB=256, BLOCK_M=128, BLOCK_N=32, NUM_WARPS=4, UNROLL=False, SINGLE_PASS=True),
    dict(ROWS_PER_SLAB=256, BLOCK_M=64, BLOCK_N=64, NUM_WARPS=4, UNROLL=True, SINGLE_PASS=False),
    dict(ROWS_PER_SLAB=256, BLOCK_M=32, BLOCK_N=64, NUM_WARPS=4, UNROLL=True, SINGLE_PASS=False),
    dict(ROWS_PER_SLAB=256, BLOCK_M=64, BLOCK_N=64, NUM_WARPS=4, UNROLL=False, SINGLE_PASS=False),
    dict(ROWS_PER_SLAB=256, BLOCK_M=64, BLOCK_N=64, NUM_WARPS=4, UNROLL=False, SINGLE_PASS=True),
    dict(ROWS_PER_SLAB=256, BLOCK_M=256, BLOCK_N=32, NUM_WARPS=8, UNROLL=False, SINGLE_PASS=True),
    dict(ROWS_PER_SLAB=256, BLOCK_M=128, BLOCK_N=32, NUM_WARPS=8, UNROLL=False, SINGLE_PASS=True),
]
COMBINE = {"sum": ("0.0", "{a} + {b}"), "mean": ("0.0", "{a} + {b}"),
           "amax": ('-float("inf")', "tl.maximum({a}, {b})"), "amin": ('float("inf")', "tl.minimum({a}, {b})")}  # fmt: skip
REDUCE = {"sum": "tl.sum", "mean": "tl.sum", "amax": "tl.max", "amin": "tl.min"}

KERNEL = """
@triton.jit
def slab_rows(x_ptr, acc, slab, r, cols, M, N, rows_per_slab, BLOCK_M: tl.constexpr):
    local = r + tl.arange(0, BLOCK_M)
    rows = slab * rows_per_slab + local
    mask = (rows[:, None] < M) & (local[:, None] < rows_per_slab) & (cols[None, :] < N)
    x = tl.load(x_ptr + rows[:, None].to(tl.int64) * N + cols[None, :], mask=mask, other={neutral})
    return {combine_acc}


@triton.jit
def slab_kernel(
    x_ptr, part_ptr, out_ptr, M, N, rows_per_slab, scale,
    ROWS: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, UNROLL: tl.constexpr, DIRECT: tl.constexpr,
):  # fmt: skip
    cols = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    slab = tl.program_id(1)
    acc = tl.full((BLOCK_M, BLOCK_N), {neutral}, dtype=tl.float32)
    if UNROLL:  # short slabs (rows_per_slab == ROWS): every load issued up front
        for r in tl.static_range(0, ROWS, BLOCK_M):
            acc = slab_rows(x_ptr, acc, slab, r, cols, M, N, rows_per_slab, BLOCK_M)
    else:  # longer slabs, or all rows: a pipelined loop
        for r in tl.range(0, rows_per_slab, BLOCK_M, num_stages=3):
            acc = slab_rows(x_ptr, acc, slab, r, cols, M, N, rows_per_slab, BLOCK_M)
    if DIRECT:  # one slab holds every row: this is the result
        tl.store(out_ptr + cols, ({reduce}(acc, axis=0) * scale).to(out_ptr.dtype.element_ty), mask=cols < N)
    else:
        tl.store(part_ptr + slab * N + cols, {reduce}(acc, axis=0), mask=cols < N)


@triton.jit
def finish_kernel(part_ptr, out_ptr, slabs, N, scale, BLOCK_N: tl.constexpr, BLOCK_S: tl.constexpr):
    cols = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    mask = cols < N
    acc = tl.full((BLOCK_S, BLOCK_N), {neutral}, dtype=tl.float32)
    for s0 in range(0, slabs, BLOCK_S):  # all slabs' partials in one 2-D load, not one load per slab
        s = s0 + tl.arange(0, BLOCK_S)
        p = tl.load(part_ptr + s[:, None] * N + cols[None, :], mask=(s[:, None] < slabs) & mask[None, :],
                    other={neutral})
        acc = {combine_part}
    tl.store(out_ptr + cols, ({reduce}(acc, axis=0) * scale).to(out_ptr.dtype.element_ty), mask=mask)
"""


def colreduce_stage(trace: Trace, config: dict) -> Stage:
    """The whole forward when it is one reduction over dim 0 of an input (Unsupported otherwise)."""
    nodes = [n for n in trace.nodes if n.op not in ("detach", "alias")]
    if len(nodes) != 1 or nodes[0].op not in COMBINE or trace.output != nodes[0].outs[0]:
        raise Unsupported("not a single reduction")
    node = nodes[0]
    src = node.args[0]
    dims = node.args[1] if len(node.args) > 1 else None
    dims = list(dims) if isinstance(dims, list | tuple) else [dims]
    if not isinstance(src, Ref) or src.name not in trace.inputs or dims != [0]:
        raise Unsupported("a reduction that is not over the first dimension of an input")
    shape, dtype = trace.meta[src.name]
    if len(shape) < 2 or trace.meta[trace.output][1] not in DTYPES:
        raise Unsupported("a first-dimension reduction of a vector")
    keep = len(trace.meta[trace.output][0]) == len(shape)
    neutral, combine = COMBINE[node.op]
    kernel = KERNEL.format(
        neutral=neutral,
        combine_acc=combine.format(a="acc", b="x"),
        combine_part=combine.format(a="acc", b="p"),
        reduce=REDUCE[node.op],
    )
    x = f"x{trace.inputs.index(src.name)}"
    scale = "1.0 / M" if node.op == "mean" else "1.0"
    forward = [
        f"x = {x}.contiguous()",
        "M = x.shape[0]",
        "N = x.numel() // max(M, 1)",
        f"out = torch.empty({'(1, *x.shape[1:])' if keep else 'x.shape[1:]'}, dtype={DTYPES[dtype]}, device=x.device)",
        "col_blocks = triton.cdiv(N, BLOCK_N)",
        "sms = torch.cuda.get_device_properties(x.device).multi_processor_count if x.is_cuda else 1",
        "single = bool(SINGLE_PASS) and 2 * col_blocks >= sms",
        "rows_per_slab = max(M, 1) if single else ROWS_PER_SLAB",
        "slabs = triton.cdiv(M, rows_per_slab)",
        "part = out if single else torch.empty((slabs, N), dtype=torch.float32, device=x.device)",
        "slab_kernel[(col_blocks, slabs)](",
        f"    x, part, out, M, N, rows_per_slab, {scale}, ROWS=ROWS_PER_SLAB, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,",
        "    UNROLL=bool(UNROLL) and not single, DIRECT=single, num_warps=NUM_WARPS,",
        ")",
        "if not single:",
        "    block_s = min(triton.next_power_of_2(slabs), max(16, 8192 // BLOCK_N))",
        f"    finish_kernel[(col_blocks,)](part, out, slabs, N, {scale}, BLOCK_N=BLOCK_N, BLOCK_S=block_s, num_warps=4)",
    ]
    return Stage("column-reduction", dict(config), kernel, forward, "out")
