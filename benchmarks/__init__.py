"""Benchmarks: ACK emulation against the other ways to see syscalls.

``python -m benchmarks`` (see README.md in this folder) runs every
mechanism on the same workloads, interleaved, and writes results.json,
results.md and results.png here.  Modules: ``worker`` (one timed run in a
fresh interpreter), ``harness`` (mechanisms, round-robin, filters),
``report`` (targets, Markdown, chart).
"""
