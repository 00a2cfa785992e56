"""Names the reference toolboxes print, mapped to (convention, canonical metric).

Keys are ``(reference, metric)`` as in ``values.csv`` of the team's reference set
(``../shared/refs``): ``vifb``, ``tang``, ``han``, ``cddfuse`` (float32 as shipped) and
``cddfuse_f64`` (the same code on float64 arrays, which the ``cddfuse`` convention reproduces).
"""

from __future__ import annotations

_VIFB = {
    "Entropy": "EN",
    "Variance": "SD",
    "Spatial_frequency": "SF",
    "Avg_gradient": "AG",
    "Edge_intensity": "EI",
    "Mutinf": "MI",
    "Cross_entropy": "CE",
    "Psnr": "PSNR",
    "Rmse": "RMSE",
    "Ssim": "SSIM",
    "Qabf": "Qabf",
    "Qcb": "Qcb",
    "Qcv": "Qcv",
}
_TANG = ("EN", "SD", "SF", "AG", "MI", "MSE", "PSNR", "CC", "SCD", "VIF", "Qabf", "Nabf")
#: CDDFuse's ``Evaluator.VIFF`` is Sheikh's VIFp summed over the sources: canonical ``VIF``.
_CDDFUSE = {name: name for name in ("EN", "SD", "SF", "AG", "MI", "MSE", "PSNR", "CC", "SCD")}
_CDDFUSE |= {"Qabf": "Qabf", "SSIM": "SSIM", "VIFF": "VIF"}

REFERENCE_METRICS: dict[tuple[str, str], tuple[str, str]] = {
    **{("vifb", ref): ("vifb", name) for ref, name in _VIFB.items()},
    **{("tang", name): ("tang", name) for name in _TANG},
    **{("cddfuse", ref): ("cddfuse", name) for ref, name in _CDDFUSE.items()},
    **{("cddfuse_f64", ref): ("cddfuse", name) for ref, name in _CDDFUSE.items()},
    # Han's VIFF takes the arrays as read; on gray triples every convention gives the same.
    ("han", "VIFF(Han2013)"): ("cddfuse", "VIFF"),
}

#: Rows that are not reproduction targets, with the reason.
NOT_TARGETS: dict[tuple[str, str], str] = {
    ("tang", "SSIM_emulMATLAB"): "MATLAB's ssim emulated, not a toolbox output",
    ("tang", "diag_MI_no_uint8_saturation"): "diagnostic: Tang MI without its uint8 quirk",
    ("tang", "diag_Nabf_fused_first"): "diagnostic: analysis_nabf in signature order",
}

#: Metrics of ``tests/references/liu_values.csv`` (Z. Liu's ``imageFusionMetrics`` and MEFB run
#: by Octave, see the README there): name printed -> canonical metric. They are implemented in
#: every convention, which agree on gray triples; colour rows follow ``tang`` (``rgb2gray``).
LIU_TOOLBOX_METRICS: dict[str, str] = {
    name: name for name in ("Q0", "Qw", "Qe", "Qy", "Qc", "NCIE", "TE", "Qp")
}
LIU_NOT_TARGETS: dict[str, str] = {
    "diag_Qe_liu_sw3": "Liu's metricPeilla case 3 multiplies by an undefined Q and fails",
}

#: Metrics of ``tests/references/tang_values.csv`` (Tang's ``Evaluation-for-Image-Fusion`` run by
#: Octave beyond ``values.csv``): name printed -> canonical metric, ``tang`` convention only.
TANG_EXTRA_METRICS: dict[str, str] = {"MS_SSIM": "MS_SSIM"}

#: Metrics of ``tests/references/fmi_values.csv`` and ``fmi_w_values.csv`` (Tang's
#: ``analysis_fmi.m`` run by Octave on centre crops): name printed -> canonical metric, ``tang``
#: convention only. Tang prints ``FMI_pixel`` for a call without a feature, which runs the
#: default 'edge' feature: canonical ``FMI_edge``. ``FMI_feature_none`` (the 'none' feature,
#: raw pixels, which Tang's toolbox does not print) is canonical ``FMI_pixel``.
TANG_FMI_METRICS: dict[str, str] = {
    "FMI_pixel": "FMI_edge",
    "FMI_dct": "FMI_dct",
    "FMI_w": "FMI_w",
    "FMI_feature_none": "FMI_pixel",
}
