"""``ivifbench.compute_batch`` (torch, float64) against ``ivifbench.compute`` (numpy).

``compute`` is pinned to the reference toolboxes to 1e-6 (``test_metrics_reference.py``); the
torch values must equal it to 1e-8 relative on the local reference triples, in batches, and on
adversarial inputs (constant, saturated, odd sizes, colour), NaN exactly where it is NaN.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from ivifbench import CONVENTIONS as ALL
from ivifbench import MetricInputError, compute, compute_batch
from ivifbench.torch_backend import covered
from ivifdata.imageio import read_image

CONVENTIONS_DEFAULTS = {name: ALL[name].default_metrics for name in ("cddfuse", "tang")}
TRIPLES = Path(__file__).resolve().parent / "data" / "triples"
#: SSIM on a constant fused image cancels E[x^2] - mu^2 against C2 = 3.6e-3: summation orders
#: (numpy/cv2 box filter, kernel, torch) differ there by up to ~3e-9 relative.
REL, ABS = 1e-8, 1e-12
CONVENTIONS = ("cddfuse", "tang")


def _numpy_values(batch: list[list[np.ndarray]], convention: str, metrics) -> list[dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [compute(*triple, metrics=metrics, convention=convention) for triple in batch]


def _assert_batch_equal(batch: list[list[np.ndarray]], convention: str, metrics=None) -> None:
    stacked = [np.stack([triple[k] for triple in batch]) for k in range(3)]
    metrics = covered(convention) if metrics is None else metrics
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = compute_batch(*stacked, metrics=metrics, convention=convention, device="cpu")
    for index, want in enumerate(_numpy_values(batch, convention, list(got))):
        for name, value in want.items():
            torch_value = float(got[name][index])
            if math.isnan(value) or math.isinf(value):
                assert torch_value == value or (math.isnan(torch_value) and math.isnan(value))
            else:
                assert math.isclose(torch_value, value, rel_tol=REL, abs_tol=ABS), (
                    convention,
                    index,
                    name,
                    torch_value,
                    value,
                )


def _local_triples() -> dict[tuple[int, ...], list[list[np.ndarray]]]:
    by_shape: dict[tuple[int, ...], list[list[np.ndarray]]] = {}
    for folder in sorted(p for p in TRIPLES.iterdir() if p.is_dir()):
        triple = [read_image(folder / f"{n}.png") for n in ("fused", "ir", "vis")]
        if len({image.shape for image in triple}) == 1:
            by_shape.setdefault(triple[0].shape, []).append(triple)
    return by_shape


@pytest.mark.slow
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_reference_triples_in_batches(convention: str) -> None:
    groups = _local_triples()
    assert groups
    for batch in groups.values():
        _assert_batch_equal(batch, convention)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_adversarial_inputs(convention: str) -> None:
    rng = np.random.default_rng(7)

    def gray(h: int, w: int) -> np.ndarray:
        return rng.integers(0, 256, (h, w), dtype=np.uint8)

    random = [[gray(45, 97) for _ in range(3)] for _ in range(3)]
    adversarial = [
        [np.full((45, 97), 128, np.uint8)] * 3,
        [np.full((45, 97), 255, np.uint8), gray(45, 97), np.zeros((45, 97), np.uint8)],
        [gray(45, 97), np.zeros((45, 97), np.uint8), gray(45, 97)],
    ]
    _assert_batch_equal(random + adversarial, convention)
    colour = [[rng.integers(0, 256, (41, 43, 3), dtype=np.uint8) for _ in range(3)]]
    _assert_batch_equal(colour * 2, convention)


def test_covers_the_cddfuse_defaults_and_tang_but_nabf() -> None:
    assert covered("cddfuse") == list(CONVENTIONS_DEFAULTS["cddfuse"])
    assert covered("tang") == [m for m in CONVENTIONS_DEFAULTS["tang"] if m != "Nabf"]


def test_uncovered_metrics_devices_and_conventions_fail_cleanly() -> None:
    images = np.zeros((1, 50, 50), np.uint8)
    with pytest.raises(MetricInputError, match="Nabf"):
        compute_batch(images, images, images, metrics="Nabf", convention="tang")
    with pytest.raises(MetricInputError, match="torch backend"):
        compute_batch(images, images, images, convention="vifb")
    if not torch.cuda.is_available():
        with pytest.raises(MetricInputError, match="CUDA is not available"):
            compute_batch(images, images, images, metrics="EN", device="cuda")
    with pytest.raises(MetricInputError, match="uint8"):
        compute_batch(images.astype(float), images, images, metrics="EN")
