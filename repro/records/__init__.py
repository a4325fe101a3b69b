"""Records: what runs write and other parts read back: provenance of a measurement, the run ledger
(calls, tokens, cost, GPU time) and its budgets, the cross-task memory store, suite metrics,
reproduction files, and atomic JSON output.

Torch-free at import (provenance imports torch only inside the functions that describe a device),
so the site can read these formats without the GPU stack. Imports nothing from repro outside
`repro.records`.
"""
