"""The canonical metric names, with the direction that is better and the kind of unit.

The exact unit of a value depends on the convention (MI is in bits under ``tang`` and in nats
under ``cddfuse``/``vifb``, MSE in (0-255)^2 or [0,1]^2 units...): see
:func:`ivifbench.conventions.metric_unit` and ``ivifbench list-metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: The conventions (toolboxes) by name, in table order, and the default; their metric
#: variants are in :mod:`ivifbench.conventions`, which loads every metric module.
CONVENTION_NAMES = ("cddfuse", "tang", "vifb")
DEFAULT_CONVENTION = "cddfuse"


@dataclass(frozen=True)
class MetricInfo:
    """A canonical metric: ``direction`` says which way is better; ``unit`` is the kind of unit
    across conventions (the per-convention unit is in the convention table)."""

    name: str
    direction: Literal["higher", "lower"]
    unit: str
    description: str


def _info(name: str, direction: Literal["higher", "lower"], unit: str, description: str):
    return name, MetricInfo(name, direction, unit, description)


METRICS: dict[str, MetricInfo] = dict(
    [
        _info("EN", "higher", "bits", "entropy of the fused image's 256-bin histogram"),
        _info("SD", "higher", "0-255 grey levels", "standard deviation of the fused image"),
        _info("SF", "higher", "0-255 grey levels", "spatial frequency of the fused image"),
        _info("AG", "higher", "0-255 grey levels / pixel", "average gradient of the fused image"),
        _info("EI", "higher", "0-255 grey levels", "edge intensity: mean Sobel magnitude"),
        _info("MI", "higher", "bits or nats (convention)", "mutual information F-IR + F-VIS"),
        _info("CE", "lower", "bits", "cross entropy of the sources' histograms against F's"),
        _info("PSNR", "higher", "dB (peak differs by convention)", "peak signal-to-noise ratio"),
        _info("MSE", "lower", "(0-255)^2 or [0,1]^2 (convention)", "mean squared error to sources"),
        _info("RMSE", "lower", "0-255 grey levels / sqrt(MN)", "VIFB root mean squared error"),
        _info("SSIM", "higher", "unitless, sum over sources (<= 2)", "structural similarity"),
        _info("Qabf", "higher", "unitless 0-1", "Xydeas-Petrovic gradient information transfer"),
        _info("Qcb", "higher", "unitless 0-1", "Chen-Blum perceptual contrast quality"),
        _info("Qcv", "lower", "(0-255)^2 grey levels, >= 0", "Chen-Varshney perceptual distortion"),
        _info("VIF", "higher", "unitless, sum over sources", "Sheikh-Bovik pixel-domain VIF"),
        _info("SCD", "higher", "unitless -2..2", "sum of the correlations of differences"),
        _info("CC", "higher", "unitless -1..1", "mean correlation coefficient to the sources"),
        _info("Nabf", "lower", "unitless 0-1", "Shreyamsha Kumar's fusion artifact measure"),
        _info("VIFF", "higher", "unitless 0-1", "Han et al. 2013 multi-resolution VIF for fusion"),
        _info("Q0", "higher", "unitless, <= 1", "Piella's fusion quality index (SSIM-based)"),
        _info("Qw", "higher", "unitless, <= 1", "Piella's weighted fusion quality index"),
        _info("Qe", "higher", "unitless, <= 1", "Piella's edge-dependent fusion quality index"),
        _info("Qy", "higher", "unitless, <= 1", "Yang's SSIM-based fusion metric"),
        _info("Qc", "higher", "unitless, <= 1", "Cvejic's covariance-weighted SSIM metric"),
        _info("NCIE", "higher", "unitless 0.80-1", "nonlinear correlation information entropy"),
        _info("MS_SSIM", "higher", "unitless, <= 1", "Tang's multi-scale MEF-SSIM of (IR, VIS), F"),
        _info("TE", "higher", "unitless", "Tsallis entropy (q = 1.85), sum over sources"),
        _info("Qp", "higher", "unitless, <= 1", "Zhao's phase-congruency fusion metric"),
        _info("FMI_pixel", "higher", "unitless 0-1", "Haghighat's feature MI of the raw pixels"),
        _info(
            "FMI_edge",
            "higher",
            "unitless 0-1",
            "feature MI of MATLAB edge maps (Tang's FMI_pixel)",
        ),
        _info("FMI_dct", "higher", "unitless 0-1", "feature MI of the dct2 coefficients"),
        _info("FMI_w", "higher", "unitless 0-1", "feature MI of the dmey wavelet coefficients"),
    ]
)
