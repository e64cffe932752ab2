"""Every chart of the project, shared by ``score evaluate --report`` and notebooks/explore.ipynb.

Why one package: a chart drawn in two places drifts apart (a label fixed in one, not the
other), so the report and the notebook both call these functions and nothing else draws.
Each function takes plain data (frames, series, mappings of frames) and returns a
:class:`matplotlib.figure.Figure`, built without ``pyplot`` (no global figure registry, no GUI
backend); every chart carries a title, axis labels with units and the counts it is based on.
"""

from pipeline.plots.common import new_figure, save
from pipeline.plots.evaluation import (
    coverage_by_class,
    error_by_provider,
    feature_importance,
    few_shot_curve,
    field_attributions,
    metrics_by_protocol,
    predicted_vs_actual,
)
from pipeline.plots.records import (
    missing_values,
    provider_coverage,
    quality_by_provider,
    quality_by_structure,
    quality_distribution,
    structure_groups,
)

__all__ = [
    "coverage_by_class",
    "error_by_provider",
    "feature_importance",
    "few_shot_curve",
    "field_attributions",
    "metrics_by_protocol",
    "missing_values",
    "new_figure",
    "predicted_vs_actual",
    "provider_coverage",
    "quality_by_provider",
    "quality_by_structure",
    "quality_distribution",
    "save",
    "structure_groups",
]
