"""ivifbench.compute: inputs, colour handling per convention, degenerate input, bad input."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

import ivifbench
from ivifbench import CONVENTIONS, METRICS, DegenerateMetricWarning, MetricInputError, compute
from ivifbench.colour import gray_cddfuse
from ivifbench.metrics.gradient import spatial_frequency
from ivifbench.metrics.matlab_compat import gray_octave
from ivifdata.imageio import read_image

TRIPLES = Path(__file__).resolve().parent / "data" / "triples"
GRAY = TRIPLES / "msrs_00004N_lap"
COLOUR = TRIPLES / "roadscene_FLIR_video_02829_laprgb"
CONST = TRIPLES / "roadscene_FLIR_00006_const128"


def paths(folder: Path) -> tuple[Path, Path, Path]:
    return folder / "fused.png", folder / "ir.png", folder / "vis.png"


def arrays(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(read_image(p) for p in paths(folder))


def implemented(convention: str) -> list[str]:
    return list(CONVENTIONS[convention].implementations)


def test_public_api_and_registry() -> None:
    assert ivifbench.__version__ == "0.1.0"
    assert set(METRICS) == {
        *"EN SD SF AG EI MI CE PSNR MSE RMSE SSIM Qabf Qcb Qcv VIF SCD CC Nabf VIFF".split(),
        *"Q0 Qw Qe Qy Qc NCIE TE Qp MS_SSIM".split(),
        *"FMI_pixel FMI_edge FMI_dct FMI_w".split(),
    }
    assert all(info.direction in ("higher", "lower") for info in METRICS.values())
    assert {name for name, i in METRICS.items() if i.direction == "lower"} == {
        "CE",
        "MSE",
        "RMSE",
        "Qcv",
        "Nabf",
    }
    assert CONVENTIONS["cddfuse"].default_metrics == tuple(
        "EN SD SF AG MI VIF Qabf SSIM SCD CC PSNR MSE".split()
    )
    assert CONVENTIONS["tang"].default_metrics == tuple(
        "EN SD SF AG MI VIF Qabf SCD CC PSNR MSE Nabf".split()
    )
    assert CONVENTIONS["vifb"].default_metrics == tuple(
        "EN SD SF AG EI MI CE PSNR RMSE SSIM Qabf Qcb Qcv".split()
    )
    for conv in CONVENTIONS.values():
        assert set(conv.default_metrics) <= set(METRICS)
        assert set(conv.implementations) <= set(METRICS)
        assert all(impl.unit for impl in conv.implementations.values())
    assert ivifbench.metric_unit("MI", "tang").startswith("bits")
    assert ivifbench.metric_unit("MI", "cddfuse").startswith("nats")
    assert ivifbench.metric_unit("MI", "vifb").startswith("nats")


def test_default_metrics_paths_and_arrays_agree() -> None:
    from_paths = compute(*paths(GRAY))
    assert list(from_paths) == list(CONVENTIONS["cddfuse"].default_metrics)
    assert compute(*arrays(GRAY)) == from_paths
    assert compute(*(str(p) for p in paths(GRAY))) == from_paths


def test_metric_selection_string_case_and_duplicates() -> None:
    values = compute(*paths(GRAY), metrics="qabf, EN,en", convention="tang")
    assert list(values) == ["Qabf", "EN"]
    assert values == compute(*paths(GRAY), metrics=["Qabf", "EN"], convention="tang")


def test_single_channel_3d_array_is_gray() -> None:
    fused, ir, vis = arrays(GRAY)
    assert compute(fused[..., None], ir, vis, metrics="EN,MI") == compute(
        fused, ir, vis, metrics="EN,MI"
    )


def test_cddfuse_gray_conversion_is_the_evaluators_image_read_cv2() -> None:
    path = COLOUR / "vis.png"
    bgr = cv2.imread(str(path)).astype(np.float32)
    expected = np.round(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    np.testing.assert_array_equal(gray_cddfuse(read_image(path)), expected)


def test_octave_rgb2gray_weights_and_rounding() -> None:
    pixels = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [1, 1, 1]]])
    assert gray_octave(pixels.astype(np.uint8)).tolist() == [[76, 150, 29, 255, 1]]


@pytest.mark.parametrize(
    ("convention", "to_gray"), [("cddfuse", gray_cddfuse), ("tang", gray_octave)]
)
def test_gray_conventions_convert_colour_inputs(convention, to_gray) -> None:
    fused, ir, vis = arrays(COLOUR)
    assert fused.ndim == 3 and vis.ndim == 3 and ir.ndim == 2
    names = implemented(convention)
    expected = compute(to_gray(fused), ir, to_gray(vis), metrics=names, convention=convention)
    assert compute(fused, ir, vis, metrics=names, convention=convention) == expected
    # RGB fused with gray sources: the fused image is converted the same way.
    mixed = compute(fused, ir, to_gray(vis), metrics=names, convention=convention)
    assert mixed == expected


def test_vifb_averages_channels_and_lays_sf_side_by_side() -> None:
    fused, ir, vis = arrays(COLOUR)
    per_channel = [
        compute(fused[..., k], ir, vis[..., k], metrics="MI,Qabf,SSIM,PSNR", convention="vifb")
        for k in range(3)
    ]
    values = compute(fused, ir, vis, metrics="MI,Qabf,SSIM,PSNR,SF", convention="vifb")
    for name in ("MI", "Qabf", "SSIM", "PSNR"):
        assert values[name] == pytest.approx(sum(v[name] for v in per_channel) / 3, rel=1e-15)
    side = np.concatenate([fused[..., k] for k in range(3)], axis=1).astype(np.float64)
    assert values["SF"] == spatial_frequency(side, divisor="pixels")


def test_vifb_rejects_mixed_colour_layouts() -> None:
    fused, ir, vis = arrays(COLOUR)
    with pytest.raises(MetricInputError, match=r"vis \(array\).*needs a colour VIS"):
        compute(fused, ir, gray_octave(vis), metrics="EN", convention="vifb")
    with pytest.raises(MetricInputError, match=r"vis \(array\).*gray fused"):
        compute(gray_octave(fused), ir, vis, metrics="EN", convention="vifb")


def test_degenerate_triple_gives_nan_with_warning_where_the_toolbox_does() -> None:
    with pytest.warns(DegenerateMetricWarning, match=r"CC \(cddfuse\) is nan.*fused\.png"):
        values = compute(*paths(CONST))
    assert math.isnan(values["CC"])
    assert values["EN"] == 0 and values["VIF"] == 0 and math.isfinite(values["Qabf"])


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_all_constant_images_never_crash(convention: str) -> None:
    flat = np.full((48, 48), 77, dtype=np.uint8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = compute(flat, flat, flat, metrics=implemented(convention), convention=convention)
    undefined = {name for name, v in values.items() if not math.isfinite(v)}
    warned = {str(w.message).split(" ")[0] for w in caught}
    assert undefined == warned  # every NaN/inf is announced, nothing else
    assert all(issubclass(w.category, DegenerateMetricWarning) for w in caught)
    assert values["EN"] == 0 and values["SD"] == 0


def test_size_mismatch_names_both_images() -> None:
    fused, ir, vis = arrays(GRAY)
    with pytest.raises(
        MetricInputError, match=r"fused \(array\) is 480x640 but ir \(array\) is 479x640"
    ):
        compute(fused, ir[:-1], vis)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((50, 50), np.uint16), "16-bit"),
        (np.zeros((50, 50), np.float32), "floating-point"),
        (np.zeros((50, 50), np.int32), "unsupported dtype int32"),
        (np.zeros((50, 50, 4), np.uint8), r"shape \(50, 50, 4\)"),
        (np.zeros((0, 50), np.uint8), "empty image"),
    ],
)
def test_bad_arrays_are_rejected_naming_the_argument(array, message) -> None:
    good = np.zeros((50, 50), np.uint8)
    with pytest.raises(MetricInputError, match=rf"vis \(array\): .*{message}"):
        compute(good, good, array, metrics="EN")


def test_bad_files_are_rejected_naming_the_file(tmp_path: Path) -> None:
    good = GRAY / "ir.png"
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(MetricInputError, match=rf"fused image {text}: not an image"):
        compute(text, good, good)
    with pytest.raises(MetricInputError, match="file not found"):
        compute(tmp_path / "missing.png", good, good)
    deep = tmp_path / "deep.png"
    cv2.imwrite(str(deep), np.full((40, 40), 4000, np.uint16))
    with pytest.raises(MetricInputError, match=rf"ir image {deep}: 16-bit"):
        compute(good, deep, good)
    with pytest.raises(MetricInputError, match="expected a file path or a numpy array"):
        compute([[1]], good, good)


def test_minimum_sizes_are_enforced_per_metric() -> None:
    def square(side: int) -> np.ndarray:
        return np.random.default_rng(side).integers(0, 256, (side, side), dtype=np.uint8)

    one = square(1)
    with pytest.warns(DegenerateMetricWarning, match=r"PSNR \(cddfuse\) is inf.*infinite"):
        values = compute(one, one, one, metrics="EN,SD,MI,MSE,PSNR")
    assert values == {"EN": 0, "SD": 0, "MI": 0, "MSE": 0, "PSNR": math.inf}
    with pytest.raises(
        MetricInputError,
        match=r"1x1 pixels; .*SF needs at least 2x2.*VIF needs at least 41x41.*SSIM needs at least 7x7",
    ):
        compute(one, one, one)
    small, ok = square(40), square(41)
    with pytest.raises(MetricInputError, match="VIF needs at least 41x41"):
        compute(small, small, small, metrics="VIF")
    assert math.isfinite(compute(ok, ok, ok, metrics="VIF")["VIF"])
    with pytest.raises(MetricInputError, match="SSIM needs at least 11x11"):
        compute(square(10), square(10), square(10), metrics="SSIM", convention="vifb")


def test_unknown_names() -> None:
    with pytest.raises(MetricInputError, match="convention: unknown 'matlab'"):
        compute(*paths(GRAY), convention="matlab")
    with pytest.raises(MetricInputError, match="metrics: unknown metric 'FMI'"):
        compute(*paths(GRAY), metrics="EN,FMI")
    with pytest.raises(MetricInputError, match="not available under convention 'tang'"):
        compute(*paths(GRAY), metrics="RMSE", convention="tang")
    for nothing in ([], " , "):
        with pytest.raises(MetricInputError, match="no metric given"):
            compute(*paths(GRAY), metrics=nothing)


def test_memory_layout_does_not_change_values() -> None:
    # a 120 x 160 crop (above every metric's minimum size): layout, not content, is tested
    fused, ir, vis = (image[:120, :160] for image in arrays(GRAY))
    for convention in CONVENTIONS:
        names = implemented(convention)
        transposed = compute(fused.T, ir.T, vis.T, metrics=names, convention=convention)
        copied = [np.ascontiguousarray(x.T) for x in (fused, ir, vis)]
        assert transposed == compute(*copied, metrics=names, convention=convention)


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_metrics_of_the_fused_image_alone_make_no_source_planes(monkeypatch, convention) -> None:
    """A call asking only for metrics of the fused image (EN, SD, SF, AG, EI) converts no
    source image; its values equal those of a call that also asks for a two-image metric."""
    from ivifbench import computation

    made: list[str] = []
    make_plane = computation._plane

    def recording_plane(pixels, name, **kwargs):
        made.append(name)
        return make_plane(pixels, name, **kwargs)

    monkeypatch.setattr(computation, "_plane", recording_plane)
    conv = CONVENTIONS[convention]
    fused_only = [n for n, impl in conv.implementations.items() if not impl.uses_sources]
    assert {"EN", "SD", "SF"} <= set(fused_only)
    for folder in (GRAY, COLOUR):
        triple = arrays(folder)
        made.clear()
        alone = compute(*triple, metrics=fused_only, convention=convention)
        assert made and all(name.startswith("fused") for name in made)
        made.clear()
        with_mi = compute(*triple, metrics=[*fused_only, "MI"], convention=convention)
        assert any(name.startswith("ir") for name in made)
        assert alone == {name: with_mi[name] for name in fused_only}
