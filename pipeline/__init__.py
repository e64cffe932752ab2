"""article-quality: learn and predict news-article quality from aggregator records."""

from __future__ import annotations

__version__ = "0.1.0"
