"""Exceptions and warnings of the metric API."""

from __future__ import annotations


class MetricInputError(ValueError):
    """Bad input to :func:`ivifbench.compute`: unreadable file, wrong dtype, mismatched shapes,
    too small an image, unknown metric or convention. ``str()`` names the file or argument and
    the problem in one line."""


class DegenerateMetricWarning(RuntimeWarning):
    """A metric is undefined for this input (e.g. 0/0 on a constant image) and returned NaN
    (or an infinity), exactly where the reference toolbox does."""
