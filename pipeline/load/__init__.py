"""Records from anywhere (files, folders, globs, archives, JSON, JSON Lines, standard input)
into frames with the schema's columns; bad input becomes report entries, never a crash."""

from pipeline.choices import DEFAULT_BATCH_SIZE
from pipeline.load.columns import empty_frame, records_to_frame
from pipeline.load.duplicates import mark_duplicates
from pipeline.load.frame import Batch, LoadResult, iter_batches, load_records

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "Batch",
    "LoadResult",
    "empty_frame",
    "iter_batches",
    "load_records",
    "mark_duplicates",
    "records_to_frame",
]
