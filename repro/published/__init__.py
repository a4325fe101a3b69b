"""Published kernels re-measured: importers of released kernel sets, judging policies, the ledger.

A release (CUDA-L1's `optimized_cuda_code/<gpu>.json`, a KernelBench run folder, or the generic
JSONL described in `releases.py`) becomes a list of `PublishedKernel`s; `audit` judges each under
the `strict` and `kernelbench` policies with the hardened harness and writes one ledger row per
kernel (`ledger.py`): the claim beside what we measured, a verdict and a status. `audit --retime`
adds readings from fresh processes to chosen rows (`audit.combine_readings`: the median reading, the
spread, and a verdict that differs between readings kept, not averaged).
"""
