"""`python -m repro.bench.arrival`: how late a thread notes a pipe message while another thread is busy in Python.

The evaluating process times the parent-clocked batch from sending its seeds until the result arrives,
noted by the thread that serves the candidate (`repro.harness.serve`). After its `select` returns,
that thread needs the interpreter lock; a thread busy in Python holds it for up to the switch interval
(`sys.setswitchinterval`). This measures the delay directly: a child process writes its clock
(CLOCK_MONOTONIC, shared by both processes) into a pipe every 10 ms while a thread of this process
spins; the main thread notes each arrival. CPU only, no torch.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import threading
import time

CHILD = """
import os, sys, time
fd, n = int(sys.argv[1]), int(sys.argv[2])
for _ in range(n):
    time.sleep(0.01)
    os.write(fd, str(time.perf_counter_ns()).encode().ljust(32))
"""


def _spin(stop: threading.Event) -> None:
    x = 0
    while not stop.is_set():
        for i in range(1000):
            x += i


def delays_ms(interval_s: float, messages: int, busy: bool = True) -> list[float]:
    """Per message, ms from the child's write to this process noting it, at this switch interval."""
    default = sys.getswitchinterval()
    sys.setswitchinterval(interval_s)
    stop = threading.Event()
    spinner = threading.Thread(target=_spin, args=(stop,), daemon=True)
    if busy:
        spinner.start()
    r, w = os.pipe()
    try:
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(w), str(messages)], pass_fds=(w,))
        os.close(w)
        out = []
        for _ in range(messages):
            select.select([r], [], [])
            noted = time.perf_counter_ns()
            sent = int(os.read(r, 32).strip())
            out.append((noted - sent) / 1e6)
        child.wait()
        return out
    finally:
        stop.set()
        if busy:
            spinner.join()
        os.close(r)
        sys.setswitchinterval(default)


def main(argv: list[str] | None = None) -> int:
    from repro.harness.serve import BATCH_SWITCH_INTERVAL_S

    p = argparse.ArgumentParser(prog="python -m repro.bench.arrival", description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=40)
    args = p.parse_args(argv)
    if args.messages < 1:
        p.error(f"--messages must be at least 1 (got {args.messages})")
    print("| switch interval | another thread | median delay ms | max delay ms |")
    print("| --- | --- | ---: | ---: |")
    for interval in (0.005, BATCH_SWITCH_INTERVAL_S):
        for busy in (False, True):
            d = delays_ms(interval, args.messages, busy)
            print(f"| {interval * 1e3:g} ms | {'spinning' if busy else 'idle'} | "
                  f"{statistics.median(d):.3f} | {max(d):.3f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
