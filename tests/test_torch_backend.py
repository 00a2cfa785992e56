"""``ivifbench.compute_batch`` (torch, float64) against ``ivifbench.compute`` (numpy).

``compute`` is pinned to the reference toolboxes to 1e-6 (``test_metrics_reference.py``, which
also runs its rows on this backend); the torch values must equal it to 1e-8 relative on the
local reference triples, in batches, and on adversarial inputs (constant, saturated, all-zero,
tiny images at the minimum size, odd sizes, colour), NaN exactly where it is NaN.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from ivifbench import CONVENTIONS as ALL
from ivifbench import MetricInputError, compute, compute_batch, torch_backend
from ivifbench.torch_backend import TORCH_METRICS, covered
from ivifdata.imageio import read_image

TRIPLES = Path(__file__).resolve().parent / "data" / "triples"
#: SSIM on a constant fused image cancels E[x^2] - mu^2 against C2 = 3.6e-3: summation orders
#: (numpy/cv2 box filter, kernel, torch) differ there by up to ~3e-9 relative.
REL, ABS = 1e-8, 1e-12
CONVENTIONS = ("cddfuse", "tang", "vifb")
Triple = list[np.ndarray]
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _all_covered(convention: str, side: int | None = None) -> list[str]:
    """Every metric of ``convention`` on the torch backend (those whose smallest accepted
    side is exactly ``side`` pixels, if given)."""
    implementations = ALL[convention].implementations
    names = covered(convention, list(implementations))
    return [n for n in names if side is None or implementations[n].min_side == side]


def _assert_batch_equal(batch: list[Triple], convention: str, metrics: list[str]) -> None:
    stacked = [np.stack([triple[k] for triple in batch]) for k in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = compute_batch(*stacked, metrics=metrics, convention=convention, device="cpu")
        wanted = [compute(*triple, metrics=metrics, convention=convention) for triple in batch]
    assert list(got) == metrics
    for index, want in enumerate(wanted):
        for name, value in want.items():
            torch_value = float(got[name][index])
            where = (convention, index, name, torch_value, value)
            if math.isnan(value) or math.isinf(value):
                assert torch_value == value or (math.isnan(torch_value) and math.isnan(value)), (
                    where
                )
            else:
                assert math.isclose(torch_value, value, rel_tol=REL, abs_tol=ABS), where


def _local_triples() -> dict[tuple, list[Triple]]:
    """The local reference triples grouped by their three shapes (one batch per group)."""
    groups: dict[tuple, list[Triple]] = {}
    for folder in sorted(p for p in TRIPLES.iterdir() if p.is_dir()):
        triple = [read_image(folder / f"{n}.png") for n in ("fused", "ir", "vis")]
        groups.setdefault(tuple(image.shape for image in triple), []).append(triple)
    return groups


@pytest.mark.slow
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_reference_triples_in_batches(convention: str) -> None:
    groups = _local_triples()
    assert sum(map(len, groups.values())) == 5 and any(len(g) > 1 for g in groups.values())
    for batch in groups.values():
        _assert_batch_equal(batch, convention, _all_covered(convention))


def _gray_cases(rng: np.random.Generator, h: int, w: int) -> list[Triple]:
    """Random, constant, saturated, all-zero, binary and flat-source triples of one size."""

    def gray() -> np.ndarray:
        return rng.integers(0, 256, (h, w), dtype=np.uint8)

    def const(value: int) -> np.ndarray:
        return np.full((h, w), value, np.uint8)

    binary = (rng.random((h, w)) > 0.5).astype(np.uint8) * 255
    return [
        [gray(), gray(), gray()],
        [np.maximum(binary, gray()), binary, gray()],  # many Qabf/Nabf strength ties
        [const(128), const(128), const(128)],
        [const(255), gray(), const(0)],
        [gray(), const(0), gray()],
        [const(0), const(0), const(0)],  # normalize1 keeps all-zero images
        [gray(), const(7), const(200)],
    ]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_adversarial_gray_batches(convention: str) -> None:
    rng = np.random.default_rng(7)
    _assert_batch_equal(_gray_cases(rng, 45, 97), convention, _all_covered(convention))
    # Every metric at the smallest size it accepts (1 px for EN, MI, CC...; 44 for MS_SSIM).
    sides = {ALL[convention].implementations[n].min_side for n in _all_covered(convention)}
    for side in sorted(sides):
        batch = _gray_cases(rng, side, side + 1)[:4]
        _assert_batch_equal(batch, convention, _all_covered(convention, side))


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_colour_batches(convention: str) -> None:
    rng = np.random.default_rng(11)

    def image(*shape: int) -> np.ndarray:
        return rng.integers(0, 256, (45, 47, *shape), dtype=np.uint8)

    metrics = _all_covered(convention)
    _assert_batch_equal([[image(3), image(3), image(3)] for _ in range(2)], convention, metrics)
    # IR gray, VIS and fused colour (the usual layout; vifb shares IR across channels).
    _assert_batch_equal([[image(3), image(), image(3)] for _ in range(2)], convention, metrics)
    flat = np.full((45, 47, 3), 90, np.uint8)
    _assert_batch_equal([[flat, image(), image(3)]], convention, metrics)


def test_covers_every_metric_of_every_convention() -> None:
    for name in CONVENTIONS:
        assert covered(name) == list(ALL[name].default_metrics)
        # The FMI variants: numpy/numba only (ivifbench.compute)
        no_twin = {"FMI_pixel", "FMI_edge", "FMI_dct", "FMI_w"}
        assert _all_covered(name) == [n for n in ALL[name].implementations if n not in no_twin]


def test_vifb_rejects_mixed_colour_layouts_as_compute_does() -> None:
    gray = np.zeros((1, 50, 50), np.uint8)
    colour = np.zeros((1, 50, 50, 3), np.uint8)
    with pytest.raises(MetricInputError, match="gray VIS with a colour fused image"):
        compute_batch(colour, gray, gray, metrics="EN", convention="vifb")
    with pytest.raises(MetricInputError, match="colour source with a gray fused image"):
        compute_batch(gray, colour, gray, metrics="EN", convention="vifb")


def test_uncovered_metrics_devices_and_inputs_fail_cleanly(monkeypatch) -> None:
    images = np.zeros((1, 50, 50), np.uint8)
    # A metric without a torch twin (none today) is refused, not computed some other way.
    without_qcb = {k: v for k, v in TORCH_METRICS.items() if v is not torch_backend.qcb_}
    monkeypatch.setattr(torch_backend, "TORCH_METRICS", without_qcb)
    with pytest.raises(MetricInputError, match="Qcb not available in the torch backend"):
        compute_batch(images, images, images, metrics="EN,Qcb", convention="vifb")
    monkeypatch.undo()
    if not torch.cuda.is_available():
        with pytest.raises(MetricInputError, match="CUDA is not available"):
            compute_batch(images, images, images, metrics="EN", device="cuda")
    with pytest.raises(MetricInputError, match="uint8"):
        compute_batch(images.astype(float), images, images, metrics="EN")
    with pytest.raises(MetricInputError, match="too small"):
        compute_batch(images[:, :40], images[:, :40], images[:, :40], metrics="VIF")
    with pytest.raises(MetricInputError, match="shapes differ"):
        compute_batch(images, images[:, :40], images, metrics="EN")
