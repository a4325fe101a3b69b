"""One CUDA graph of a model's forward, replayed: the reference without its launch overhead.

Why a baseline of its own: where a forward is hundreds of small kernels, eager's time is mostly the host
launching them, and moves with the host (up to ~2x between processes on one machine). A kernel that only
removes launches beats eager by exactly that much; against the replay it gains nothing. The replay
repeats within a fraction of a percent, so it is the baseline a speedup on such problems carries across.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def graph_replay(
    model: Any, sample: list[Any]
) -> tuple[Callable[..., Any], Callable[[list[Any]], list[Any]]]:
    """A replay of one CUDA graph of `model(*static)`, and a function that copies fresh inputs into
    `static` (outside the timed call, as every baseline's fresh inputs are written before it)."""
    import torch

    static = [x.clone() if isinstance(x, torch.Tensor) else x for x in sample]
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream), torch.no_grad():
        for _ in range(3):  # warm-up on a side stream, as capture requires (lazy init, cuDNN autotuning)
            model(*static)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.no_grad(), torch.cuda.graph(graph):
        out = model(*static)

    def load(fresh: list[Any]) -> list[Any]:
        for s, f in zip(static, fresh, strict=True):
            if isinstance(s, torch.Tensor):
                s.copy_(f)
        return static

    def replay(*_: Any) -> Any:
        graph.replay()
        return out

    return replay, load
