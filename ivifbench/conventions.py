"""Conventions: which variant of each metric, and which colour handling, one toolbox uses.

A :class:`Convention` maps canonical metric names (see :mod:`ivifbench.registry`) to a
:class:`MetricImpl`: a pure function from :mod:`ivifbench.metrics`, its options, the exact unit
of its value and the smallest image it accepts. Colour handling:

* ``cddfuse``: every image through CDDFuse's float ``BGR2GRAY`` + ``np.round``;
* ``tang``: every colour image through Octave 7.3 ``rgb2gray`` (rounded to uint8);
* ``vifb``: no grey conversion; metric(VIS_k, IR, F_k) per channel k, averaged (``SF`` runs
  on the channels laid side by side, as VIFB's size folding does).

Gray images pass through unchanged under every convention.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ivifbench.colour import gray_cddfuse
from ivifbench.errors import MetricInputError
from ivifbench.metrics import (
    cross_entropy,
    edge_intensity,
    fmi,
    gradient,
    information,
    liu_information,
    mef_ssim,
    moments,
    nabf,
    phase_congruency,
    piella,
    qabf,
    qcb,
    qcv,
    squared_error,
    ssim,
    vif,
    viff,
    yang_cvejic,
)
from ivifbench.metrics.matlab_compat import gray_octave
from ivifbench.registry import DEFAULT_CONVENTION  # noqa: F401 (re-exported)

ColourLayout = Literal["per_channel", "side_by_side"]


@dataclass(frozen=True)
class MetricImpl:
    """One metric under one convention.

    ``function`` takes float64 0-255 planes: ``(fused, ir, vis, **options)`` when
    ``uses_sources`` else ``(fused, **options)``. ``min_side``: smallest height and width in
    pixels. ``colour_layout`` matters only for per-channel conventions (``vifb``):
    ``"per_channel"`` averages the per-channel values, ``"side_by_side"`` evaluates once on the
    fused channels concatenated horizontally.
    """

    function: Callable[..., float]
    unit: str
    follows: str
    uses_sources: bool = True
    options: Mapping[str, object] = field(default_factory=dict)
    min_side: int = 1
    colour_layout: ColourLayout = "per_channel"

    def __call__(self, fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
        if self.uses_sources:
            return self.function(fused, ir, vis, **self.options)
        return self.function(fused, **self.options)


@dataclass(frozen=True)
class Convention:
    """A toolbox's metric variants. ``to_gray`` converts an RGB uint8 image to one uint8
    channel; ``None`` means per-channel evaluation (VIFB)."""

    name: str
    follows: str
    to_gray: Callable[[np.ndarray], np.ndarray] | None
    default_metrics: tuple[str, ...]
    implementations: Mapping[str, MetricImpl]


def _fused_only(function, unit, follows, **kwargs) -> MetricImpl:
    return MetricImpl(function, unit, follows, uses_sources=False, **kwargs)


_EN = _fused_only(information.entropy, "bits", "256-bin histogram entropy, log2")
_SD = _fused_only(moments.standard_deviation, "0-255", "population standard deviation")
_SF_DIFFS = _fused_only(
    gradient.spatial_frequency, "0-255", "sums over the numbers of differences", min_side=2
)
_AG_TANG = _fused_only(
    gradient.average_gradient, "0-255/pixel", "MATLAB gradient, sum / ((M-1)(N-1))", min_side=2
)
_QABF = MetricImpl(qabf.qabf, "unitless 0-1", "Sobel conv2 'same', tie gA == gF -> gF")
_CC = MetricImpl(moments.correlation_coefficient, "unitless, mean of 2", "Pearson r")
_SCD = MetricImpl(moments.sum_of_correlation_differences, "unitless, sum of 2", "corr2")
#: Han's VIFF in every convention; colour follows the convention (gray conversion, or the
#: per-channel average under vifb): Han's own code fails on colour VIS/F.
_VIFF = MetricImpl(
    viff.viff, "unitless 0-1", "VIFF_Public.m (Han et al. 2013)", min_side=viff.MIN_SIDE
)

#: Z. Liu's imageFusionMetrics (and MEFB for Qe) in every convention, in no default list; called
#: as (IR, VIS, F); colour follows the convention. Pinned in tests/references/liu_values.csv.
_LIU_TOOLBOX = {
    "Q0": MetricImpl(
        piella.piella_q0, "unitless <= 1", "metricPeilla.m sw=1", min_side=piella.MIN_SIDE
    ),
    "Qw": MetricImpl(
        piella.piella_qw, "unitless <= 1", "metricPeilla.m sw=2", min_side=piella.MIN_SIDE
    ),
    "Qe": MetricImpl(
        piella.piella_qe,
        "unitless <= 1",
        "MEFB metricsQw.m (Qe, alpha 1)",
        min_side=piella.MIN_SIDE,
    ),
    "Qy": MetricImpl(
        yang_cvejic.yang_qy, "unitless <= 1", "metricYang.m", min_side=yang_cvejic.MIN_SIDE
    ),
    "Qc": MetricImpl(
        yang_cvejic.cvejic_qc, "unitless <= 1", "metricCvejic.m sw=2", min_side=yang_cvejic.MIN_SIDE
    ),
    "NCIE": MetricImpl(liu_information.ncie, "unitless 0.80-1", "metricWang.m"),
    "TE": MetricImpl(
        liu_information.tsallis_entropy, "unitless, sum of 2", "metricMI.m sw=2 (q = 1.85)"
    ),
    "Qp": MetricImpl(
        phase_congruency.zhao_qp,
        "unitless <= 1",
        "metricZhao.m with myphasecong3.m",
        min_side=phase_congruency.MIN_SIDE,
    ),
}


#: Haghighat's FMI as Tang's analysis_fmi.m computes it (w = 3, called as (IR, VIS, F)); tang
#: only, in no default list. Pinned in tests/references/fmi_values.csv and fmi_w_values.csv.
_FMI_TANG = {
    "FMI_pixel": MetricImpl(
        fmi.fmi_pixel, "unitless 0-1", "analysis_fmi(IR, VIS, F, 'none')", min_side=fmi.MIN_SIDE
    ),
    "FMI_edge": MetricImpl(
        fmi.fmi_edge,
        "unitless 0-1",
        "analysis_fmi(IR, VIS, F): default 'edge' (MATLAB edge), printed FMI_pixel by Tang",
        min_side=fmi.MIN_SIDE,
    ),
    "FMI_dct": MetricImpl(
        fmi.fmi_dct, "unitless 0-1", "analysis_fmi(IR, VIS, F, 'dct')", min_side=fmi.MIN_SIDE
    ),
    "FMI_w": MetricImpl(
        fmi.fmi_wavelet,
        "unitless 0-1",
        "analysis_fmi(IR, VIS, F, 'wavelet'): dwt2 'dmey'",
        min_side=fmi.MIN_SIDE,
    ),
}


def _nabf_tang_argument_order(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Tang's ``analysis_Reference`` calls ``analysis_nabf(IR, VIS, F)`` although the signature
    is ``(f, I1, I2)``: the IR image takes the fused role, VIS and F the sources'."""
    return nabf.nabf(ir, vis, fused)


CDDFUSE = Convention(
    name="cddfuse",
    follows="MMIF-CDDFuse utils/Evaluator.py (float64 values = the cddfuse_f64 reference rows)",
    to_gray=gray_cddfuse,
    default_metrics=tuple("EN SD SF AG MI VIF Qabf SSIM SCD CC PSNR MSE".split()),
    implementations={
        "EN": _EN,
        "SD": _SD,
        "SF": _SF_DIFFS,
        "AG": _fused_only(
            gradient.average_gradient,
            "0-255/pixel",
            "MATLAB-style gradient, mean over MN",
            options={"divisor": "MN"},
            min_side=2,
        ),
        "MI": MetricImpl(information.mutual_information, "nats, sum of 2", "mutual_info_score"),
        "VIF": MetricImpl(
            vif.visual_information_fidelity,
            "unitless, sum of 2",
            "Evaluator.VIFF = Sheikh VIFp, NaN -> 1",
            options={"nan_as_one": True},
            min_side=vif.MIN_SIDE,
        ),
        "Qabf": _QABF,
        "SSIM": MetricImpl(
            ssim.ssim_skimage,
            "unitless, sum of 2",
            "skimage defaults: 7x7 uniform, data_range 2",
            min_side=ssim.SKIMAGE_WINDOW,
        ),
        "SCD": _SCD,
        "CC": _CC,
        "PSNR": MetricImpl(
            squared_error.peak_signal_to_noise_ratio, "dB, peak max(F)", "max(F)^2 / MSE"
        ),
        "MSE": MetricImpl(
            squared_error.mean_squared_error, "(0-255)^2, mean of 2", "mean of 2 MSEs"
        ),
        "VIFF": _VIFF,
        **_LIU_TOOLBOX,
    },
)

TANG = Convention(
    name="tang",
    follows="Linfeng-Tang/Evaluation-for-Image-Fusion analysis_Reference.m (Octave 7.3)",
    to_gray=gray_octave,
    default_metrics=tuple("EN SD SF AG MI VIF Qabf SCD CC PSNR MSE Nabf".split()),
    implementations={
        "EN": _EN,
        "SD": _SD,
        "SF": _SF_DIFFS,
        "AG": _AG_TANG,
        "MI": MetricImpl(
            information.mutual_information,
            "bits, sum of 2",
            "MI_evaluation + Hab.m (joint bins 254/255 merged)",
            options={"bits": True, "saturate_joint": True},
        ),
        "VIF": MetricImpl(
            vif.visual_information_fidelity,
            "unitless, sum of 2",
            "vifp_mscale, sigma_n^2 = 2",
            min_side=vif.MIN_SIDE,
        ),
        "Qabf": _QABF,
        "SCD": _SCD,
        "CC": _CC,
        "PSNR": MetricImpl(
            squared_error.peak_signal_to_noise_ratio,
            "dB, 255 peak on [0,1] MSE (+48.13 dB)",
            "PSNR_evaluation",
            options={"peak": 255.0, "unit_divisor": 255.0},
        ),
        "MSE": MetricImpl(
            squared_error.mean_squared_error,
            "[0,1]^2, mean of 2",
            "MSE_evaluation on im2double",
            options={"unit_divisor": 255.0},
        ),
        "Nabf": MetricImpl(
            _nabf_tang_argument_order,
            "unitless 0-1",
            "analysis_nabf as analysis_Reference calls it: (IR, VIS, F), IR in the fused role",
            min_side=nabf.MIN_SIDE,
        ),
        "MS_SSIM": MetricImpl(
            mef_ssim.ms_ssim_tang,
            "unitless <= 1",
            "analysis_ms_ssim.m: 3-scale MEF-SSIM of cat(3, IR, VIS) and F",
            min_side=mef_ssim.MIN_SIDE,
        ),
        "VIFF": _VIFF,
        **_LIU_TOOLBOX,
        **_FMI_TANG,
    },
)

VIFB = Convention(
    name="vifb",
    follows="xingchenzhang/VIFB metrics/metrics*.m (Octave 7.3)",
    to_gray=None,
    default_metrics=tuple("EN SD SF AG EI MI CE PSNR RMSE SSIM Qabf Qcb Qcv".split()),
    implementations={
        "EN": _EN,
        "SD": _SD,
        "SF": _fused_only(
            gradient.spatial_frequency,
            "0-255",
            "both sums / MN; colour channels side by side",
            options={"divisor": "pixels"},
            min_side=2,
            colour_layout="side_by_side",
        ),
        "AG": _AG_TANG,
        "MI": MetricImpl(
            information.mutual_information,
            "nats, sum of 2",
            "min-max stretch to 0..255, 256x256 joint histogram, ln",
            options={"stretch": True},
        ),
        "PSNR": MetricImpl(
            squared_error.peak_signal_to_noise_ratio_vifb,
            "dB, 20 log10(255 / sqrt(RMSE_vifb))",
            "metricsPsnr",
        ),
        "RMSE": MetricImpl(
            squared_error.root_mean_squared_error_vifb,
            "0-255/sqrt(MN), mean of 2",
            "sqrt(SSE) / MN",
        ),
        "SSIM": MetricImpl(
            ssim.ssim_vifb,
            "unitless, sum of 2",
            "11x11 Gaussian 1.5, 'valid', L = 255",
            min_side=ssim.VIFB_WINDOW,
        ),
        "Qabf": MetricImpl(
            qabf.qabf,
            "unitless 0-1",
            "as Tang, on 255 x the data (tie value differs)",
            options={"input_scale": 255.0},
        ),
        "EI": _fused_only(
            edge_intensity.edge_intensity,
            "0-255",
            "fspecial('sobel'), imfilter replicate; colour: mean over all channels",
            min_side=edge_intensity.MIN_SIDE,
        ),
        "CE": MetricImpl(
            cross_entropy.cross_entropy,
            "bits, mean of 2",
            "sum p_S log2(p_S / p_F) over grey levels present in both",
        ),
        "Qcb": MetricImpl(
            qcb.qcb,
            "unitless 0-1",
            "metricChenBlum: normalize1, DoG CSF, 31x31 Gaussian contrast",
            min_side=qcb.MIN_SIDE,
        ),
        "Qcv": MetricImpl(
            qcv.qcv,
            "(0-255)^2, >= 0",
            "metricChen: normalize1, 16x16 blocks zero padded, Mannos-Sakrison CSF, real part",
            min_side=qcv.MIN_SIDE,
        ),
        "VIFF": _VIFF,
        **_LIU_TOOLBOX,
    },
)

CONVENTIONS: dict[str, Convention] = {c.name: c for c in (CDDFUSE, TANG, VIFB)}


def get_convention(name: str) -> Convention:
    """The convention called ``name``; :class:`MetricInputError` listing the known ones."""
    try:
        return CONVENTIONS[name]
    except KeyError:
        known = ", ".join(CONVENTIONS)
        raise MetricInputError(f"convention: unknown {name!r} (known: {known})") from None


def metric_unit(metric: str, convention: str) -> str:
    """Exact unit of ``metric``'s value under ``convention`` (e.g. MI: bits under tang)."""
    return get_convention(convention).implementations[metric].unit
