"""ivifbench: infrared-visible fusion metrics that reproduce the published toolboxes exactly.

``compute(fused, ir, vis, metrics=None, convention="cddfuse")`` returns ``{name: value}``;
``METRICS`` describes each canonical metric, ``CONVENTIONS`` each toolbox's variants.
"""

from ivifbench.computation import compute
from ivifbench.conventions import CONVENTIONS, metric_unit
from ivifbench.errors import DegenerateMetricWarning, MetricInputError
from ivifbench.registry import METRICS, MetricInfo

__version__ = "0.1.0"

__all__ = [
    "CONVENTIONS",
    "METRICS",
    "DegenerateMetricWarning",
    "MetricInfo",
    "MetricInputError",
    "__version__",
    "compute",
    "metric_unit",
]
