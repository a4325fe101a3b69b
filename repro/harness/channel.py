"""The worker's line to the evaluating process: framed messages over two pipes opened before any
candidate code runs.

Everything the parent trusts arrives here as raw data the moment it exists (outputs right after
each run, each timed iteration's times and sampled values), not as a report written at the end, so
rewriting a report file, or the serialiser, after the fact changes nothing. Frames are
`marshal`-encoded builtins (no code can travel: `marshal` refuses code objects here by design of the
reader below) plus a raw payload; the functions used are captured when this module is imported,
before the candidate.
"""

from __future__ import annotations

import marshal
import os
import select
import struct
import time
from typing import Any

import torch

_dumps, _loads = marshal.dumps, marshal.loads
_write, _read = os.write, os.read
_pack, _unpack = struct.pack, struct.unpack
_HEAD = ">II Q"  # kind length, header length, payload length
_HEAD_SIZE = struct.calcsize(_HEAD)
MAX_HEADER = 1 << 24
MAX_PAYLOAD = 1 << 30  # the largest message the parent buffers (outputs over 4M elements travel sampled)


class ChannelError(Exception):
    """The other side broke the protocol, went away, or sent something malformed."""


def _plain(value: Any) -> bool:
    """Builtins only (no code objects, no subclasses): what a header may hold."""
    t = type(value)
    if t in (int, float, str, bool, bytes) or value is None:
        return True
    if t in (list, tuple):
        return all(_plain(v) for v in value)
    if t is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    return False


class Channel:
    """One end: reads from `rfd`, writes to `wfd`."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd
        self._buf = bytearray()

    def send(
        self,
        kind: str,
        header: dict[str, Any] | None = None,
        payload: bytes = b"",
        deadline: float | None = None,
    ) -> None:
        """Write one message. With a `deadline` (the parent's side, whose write end is non-blocking) a
        reader that stops reading cannot hold the writer past it: TimeoutError."""
        k, h = kind.encode(), _dumps(header or {})
        for part in (_pack(_HEAD, len(k), len(h), len(payload)) + k + h, payload):
            view = memoryview(part)
            while view:
                try:
                    view = view[_write(self.wfd, view[: 1 << 22]) :]
                except BlockingIOError:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise TimeoutError from None
                    select.select([], [self.wfd], [], min(left, 1.0) if left is not None else 1.0)

    def _fill(self, n: int, deadline: float | None) -> None:
        while len(self._buf) < n:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                ready, _, _ = select.select([self.rfd], [], [], min(left, 1.0))
                if not ready:
                    continue
            chunk = _read(self.rfd, max(1 << 16, min(n - len(self._buf), 1 << 24)))
            if not chunk:
                raise ChannelError("the other side closed the channel")
            self._buf += chunk

    def recv(self, deadline: float | None = None) -> tuple[str, dict[str, Any], bytes]:
        """The next message; TimeoutError at `deadline` (time.monotonic), ChannelError if malformed."""
        self._fill(_HEAD_SIZE, deadline)
        nk, nh, np_ = _unpack(_HEAD, bytes(self._buf[:_HEAD_SIZE]))
        if nk > 64 or nh > MAX_HEADER or np_ > MAX_PAYLOAD:
            raise ChannelError("a message announced an impossible size")
        total = _HEAD_SIZE + nk + nh + np_
        self._fill(total, deadline)
        raw = bytes(self._buf[:total])
        del self._buf[:total]
        try:
            kind = raw[_HEAD_SIZE : _HEAD_SIZE + nk].decode()
            header = _loads(raw[_HEAD_SIZE + nk : _HEAD_SIZE + nk + nh])
        except (ValueError, EOFError, TypeError, UnicodeDecodeError) as exc:
            raise ChannelError(f"a malformed message ({type(exc).__name__})") from None
        if type(header) is not dict or not _plain(header):
            raise ChannelError("a message header holds something other than plain data")
        return kind, header, raw[_HEAD_SIZE + nk + nh :]

    def expect(self, kind: str, deadline: float | None = None) -> tuple[dict[str, Any], bytes]:
        got, header, payload = self.recv(deadline)
        if got != kind:
            raise ChannelError(f"expected a {kind!r} message, got {got!r}")
        return header, payload


def pack_tensors(tensors: list[torch.Tensor]) -> tuple[list[list[Any]], bytes]:
    """Raw bytes of CPU copies of `tensors`, and per tensor [dtype name, shape, byte count]."""
    meta, chunks = [], []
    for t in tensors:
        flat = t.detach().to("cpu").contiguous().reshape(-1)
        raw = flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""
        meta.append([str(t.dtype).removeprefix("torch."), list(t.shape), len(raw)])
        chunks.append(raw)
    return meta, b"".join(chunks)


def unpack_tensors(meta: Any, payload: bytes) -> list[torch.Tensor]:
    """The inverse of `pack_tensors`; ChannelError when the description does not fit the bytes."""
    out, offset = [], 0
    try:
        for dtype_name, shape, n in meta:
            dtype = getattr(torch, dtype_name)
            if not isinstance(dtype, torch.dtype):
                raise ChannelError(f"unknown dtype {dtype_name!r}")
            chunk = payload[offset : offset + n]
            offset += n
            numel = 1
            for d in shape:
                numel *= int(d)
            if numel * dtype.itemsize != n or len(chunk) != n:
                raise ChannelError("a tensor's bytes do not match its shape")
            flat = (
                torch.frombuffer(bytearray(chunk), dtype=torch.uint8)
                if n
                else torch.empty(0, dtype=torch.uint8)
            )
            out.append(flat.view(dtype).reshape([int(d) for d in shape]))
    except (TypeError, ValueError, AttributeError, RuntimeError) as exc:
        raise ChannelError(f"a malformed tensor description ({exc})") from None
    if offset != len(payload):
        raise ChannelError("a message carried bytes no tensor accounts for")
    return out
