"""Edge vision workloads: same output natively and under Wasmtime, Canny as scikit-image, the plate where it is."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from conftest import run_module
from scipy import ndimage as ndi
from skimage.feature import canny as skimage_canny
from skimage.util import img_as_float

from hwprof import workloads
from hwprof.workloads.edge import images

CASES = [("canny", "small"), ("canny", "default"), ("plate", "default")]


def run_wasm(path, tmp_path, args=()) -> tuple[str, bytes]:
    """Run a workload under the wasmtime package with no-op markers; return its stdout and stderr."""
    status, out, err = run_module(path, tmp_path, args)
    assert status == 0, f"{path.name} exited with {status}"
    return out, err


def run_native(name, size, args=()) -> tuple[str, bytes]:
    """Run the native (musl) build; return its stdout and stderr."""
    exe = workloads.build(name, size, flavour="native").program
    done = subprocess.run([str(exe), *args], capture_output=True, check=True, timeout=60)
    return done.stdout.decode(), done.stderr


def read_pgm(data: bytes) -> np.ndarray:
    """A binary PGM (P5, 8-bit) as an array."""
    magic, w, h, maxval, pixels = data.split(maxsplit=4)
    assert magic == b"P5" and int(maxval) == 1
    return np.frombuffer(pixels, np.uint8).reshape(int(h), int(w))


@pytest.mark.parametrize("name, size", CASES)
def test_wasm_and_native_print_the_expected_checksum(name, size, tmp_path):
    build = workloads.build(name, size)
    wasm_out, _ = run_wasm(build.program, tmp_path)
    native_out, _ = run_native(name, size)
    assert workloads.checksum_of(wasm_out) == workloads.checksum_of(native_out) == build.expected != ""


def f1_within_one_pixel(found: np.ndarray, ref: np.ndarray) -> float:
    """F1 of edge pixels where a pixel counts as matched if the other map has an edge in its 3x3 neighbourhood."""
    near = np.ones((3, 3), bool)
    precision = (found & ndi.binary_dilation(ref, near)).sum() / found.sum()
    recall = (ref & ndi.binary_dilation(found, near)).sum() / ref.sum()
    return 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize("size", ["small", "default"])
def test_canny_edges_match_scikit_image(size, tmp_path):
    image = images.camera_images()[size]
    _, wasm_err = run_wasm(workloads.build("canny", size).program, tmp_path, ["dump"])
    _, native_err = run_native("canny", size, ["dump"])
    assert wasm_err == native_err
    found = read_pgm(native_err).astype(bool)
    ref = skimage_canny(img_as_float(image), sigma=images.CANNY_SIGMA,
                        low_threshold=images.CANNY_LOW, high_threshold=images.CANNY_HIGH)
    assert found.shape == ref.shape == image.shape
    agreement = (found == ref).mean()        # per pixel, whole image
    exact_f1 = 2 * (found & ref).sum() / (found.sum() + ref.sum())
    tolerant_f1 = f1_within_one_pixel(found, ref)
    print(f"canny {size}: agreement {agreement:.5f} (all-zero map: {1 - ref.mean():.4f}), "
          f"edge F1 {exact_f1:.4f}, within 1 px {tolerant_f1:.4f}, edges {found.sum()} vs {ref.sum()}")
    # Same steps, sigma and thresholds, float32 against float64: only ties may differ. A wrong sigma
    # (1.0 or 2.0) or threshold (0.05/0.2, 0.1/0.3) gives agreement 0.937-0.986 and F1 0.53-0.88 here.
    assert 0.02 < ref.mean() < 0.2
    assert agreement >= 0.995
    assert exact_f1 >= 0.95 and tolerant_f1 >= 0.98


def iou(a, b) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes, x1 and y1 exclusive."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])
    return inter / (area(a) + area(b) - inter)


def test_plate_box_overlaps_the_true_plate():
    out, _ = run_native("plate", "default")
    box = tuple(int(v) for v in workloads.checksum_of(out).split(","))
    overlap = iou(box, images.PLATE_BOX)
    print(f"plate: found {box}, true {images.PLATE_BOX}, IoU {overlap:.3f}")
    assert overlap >= 0.5


def test_generators_are_deterministic_and_carry_the_truth(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for d in (first, second):
        d.mkdir()
        images.canny_headers(d)
        images.plate_header(d)
    for f in sorted(first.iterdir()):
        assert f.read_bytes() == (second / f.name).read_bytes(), f.name
    header = (first / "plate_image.h").read_text()
    for key, v in zip(("X0", "Y0", "X1", "Y1"), images.PLATE_BOX):
        assert f"#define PLATE_TRUE_{key} {v}\n" in header
    assert "#define CANNY_W 128\n" in (first / "canny_small.h").read_text()
