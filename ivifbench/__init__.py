"""ivifbench: infrared-visible fusion metrics that reproduce the published toolboxes exactly.

``compute(fused, ir, vis, metrics=None, convention="cddfuse")`` returns ``{name: value}``;
``METRICS`` describes each canonical metric, ``CONVENTIONS`` each toolbox's variants;
``compute_batch`` computes batches with torch (imported on first use).
"""

from ivifbench.errors import DegenerateMetricWarning, MetricInputError
from ivifbench.registry import METRICS, MetricInfo
from ivifdata import __version__
from ivifdata.lazy import lazy_exports

__all__ = [
    "CONVENTIONS",
    "METRICS",
    "DegenerateMetricWarning",
    "MetricInfo",
    "MetricInputError",
    "__version__",
    "compute",
    "compute_batch",
    "metric_unit",
]


#: Loaded on first use: the metric modules (numba, scipy, OpenCV) and torch stay out of
#: ``import ivifbench`` and the CLI's start-up.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "compute": "computation",
        "CONVENTIONS": "conventions",
        "metric_unit": "conventions",
        "compute_batch": "torch_backend",
    },
)
