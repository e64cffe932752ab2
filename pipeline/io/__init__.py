"""What the commands write: output tables (CSV, JSON Lines, Parquet) and front matter edits."""

from pipeline.io.frontmatter import WriteBackError
from pipeline.io.outputs import OutputError, TableWriter, write_errors, write_frame
from pipeline.io.writeback import write_back

__all__ = [
    "OutputError",
    "TableWriter",
    "WriteBackError",
    "write_back",
    "write_errors",
    "write_frame",
]
