"""Datasets on disk: the IDX format, offline MNIST and Fashion-MNIST."""
