"""Distributed TensorFlow on its own gRPC runtime: cluster descriptions, a local launcher, tasks."""
