"""What a traced ``Session.run`` executed, read from its ``RunMetadata``.

Run with ``options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)`` and
``run_metadata=tf.RunMetadata()``; the step stats list every op that ran, per device.
"""
from __future__ import annotations


def ops_by_device(run_metadata) -> dict:
    """``{device name: sorted op names}`` for the graph's ops that ran (runtime-internal ``_`` ops left out)."""
    return {dev.device: sorted(n.node_name for n in dev.node_stats if not n.node_name.startswith("_"))
            for dev in run_metadata.step_stats.dev_stats}


def executed_ops(run_metadata) -> list:
    """Sorted names of the ops that ran, on any device."""
    return sorted({op for ops in ops_by_device(run_metadata).values() for op in ops})
