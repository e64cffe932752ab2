"""Work spread over forked worker processes, results kept in input order, memory bounded."""

from pipeline.parallel.pool import OrderedPool
from pipeline.parallel.stream import OrderedStream

__all__ = ["OrderedPool", "OrderedStream"]
