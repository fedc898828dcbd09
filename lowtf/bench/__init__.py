"""Benchmarks: training throughput of LeNet-5 in several implementations, side by side."""
