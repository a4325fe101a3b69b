"""repro: a hardened KernelBench-compatible evaluation harness, a kernel task suite and reference agentic loops.

Library below, commands on top; imports point down only:

- `tasks/`, `solutions/`: the task suite (KernelBench format) and hand-written Triton solutions.
- `records/`: what runs write and the site reads (provenance, ledger, memory, result files); torch-free.
- `harness/`: judges one candidate in an isolated process; imports only `records`.
- `proposers/`: where candidates come from; `backends/`: where evaluations run.
- `loops/`: the agentic search strategies, on the pieces above.
- `runners/`: whole runs (a suite evaluation, the reproduction, dataset export).
- `commands/` and `cli.py`: argument parsing for `python -m repro`; `bench/`: benchmarks.

repro never imports `site_gen`.
"""
