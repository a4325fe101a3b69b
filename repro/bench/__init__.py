"""Benchmarks, run on purpose and never in tests: the harness's repeatability and overhead
(`python -m repro bench-harness`), the L2 flush (`python -m repro.bench.flush`), the template
configurations (`python -m repro.bench.templates`) and the local and Ray backends
(`python -m repro.bench.backends`). Their numbers go to BENCHMARKS.md.
"""
