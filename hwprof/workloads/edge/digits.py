"""The LeNet-5 digit classifier's data: scikit-learn's digits, their held-out split, LeNet's input, the weights file.

Images are scikit-learn's bundled 8x8 digits (pixel values 0..16). The split is stratified and needs no
random numbers: within each class, in the data set's order, every fourth image (ranks 3, 7, 11, ...) is
held out for testing, the rest train. LeNet's 32x32 input is an image scaled to [0, 1] (value / 16),
enlarged 3x by pixel repetition to 24x24 and padded with 4 zero pixels on every side; every step is exact
in float32, so the C program, the training script and the tests build the same input.

Weights file (lenet_weights.bin, little-endian): the magic b"LNT5", uint32 version (1), uint32 layer
count (5), then per layer four uint32 (out, in, kh, kw) with kh = kw = 1 for the fully connected layers,
then per layer its float32 weights in (out, in, kh, kw) order followed by its out float32 biases.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).parent / "lenet_weights.bin"
MAGIC = b"LNT5"
VERSION = 1
LAYERS = ("conv1", "conv2", "fc1", "fc2", "fc3")
SHAPES = ((6, 1, 5, 5), (16, 6, 5, 5), (120, 400, 1, 1), (84, 120, 1, 1), (10, 84, 1, 1))
INPUT_SIZE, SCALE, PAD = 32, 3, 4
HEADER = "lenet_data.h"


def split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits as (train images, train labels, test images, test labels): uint8 8x8 images, 0..16."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = digits.images.astype(np.uint8), digits.target.astype(np.uint8)
    rank = np.zeros(len(labels), dtype=int)
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        rank[members] = np.arange(len(members))
    test = rank % 4 == 3
    return images[~test], labels[~test], images[test], labels[test]


def to_input(images: np.ndarray) -> np.ndarray:
    """LeNet's float32 (n, 32, 32) input from uint8 (n, 8, 8) digits: /16, 3x pixel repetition, 4-pixel zero pad."""
    scaled = images.astype(np.float32) / np.float32(16)
    big = scaled.repeat(SCALE, axis=1).repeat(SCALE, axis=2)
    return np.pad(big, ((0, 0), (PAD, PAD), (PAD, PAD)))


def write_weights(path: Path, layers: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Write (weight, bias) per layer in the documented layout, as float32."""
    head = MAGIC + struct.pack("<II", VERSION, len(layers))
    body = b""
    for (w, b), shape in zip(layers, SHAPES, strict=True):
        w = np.asarray(w, dtype="<f4").reshape(shape)
        head += struct.pack("<4I", *shape)
        body += w.tobytes() + np.asarray(b, dtype="<f4").reshape(shape[0]).tobytes()
    Path(path).write_bytes(head + body)


def read_weights(path: Path = WEIGHTS) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (weight, bias) float32 arrays per layer, shaped (out, in, kh, kw) and (out,), checked against LeNet-5."""
    data = Path(path).read_bytes()
    version, count = struct.unpack_from("<II", data, 4)
    if data[:4] != MAGIC or version != VERSION or count != len(SHAPES):
        raise ValueError(f"{path}: not a version-{VERSION} LeNet-5 weights file")
    shapes = [struct.unpack_from("<4I", data, 12 + 16 * i) for i in range(count)]
    if tuple(shapes) != SHAPES:
        raise ValueError(f"{path}: layer shapes {shapes} are not LeNet-5's {SHAPES}")
    at, layers = 12 + 16 * count, []
    for shape in shapes:
        n = int(np.prod(shape))
        w = np.frombuffer(data, "<f4", n, at).reshape(shape)
        b = np.frombuffer(data, "<f4", shape[0], at + 4 * n)
        layers.append((w.astype(np.float32), b.astype(np.float32)))
        at += 4 * (n + shape[0])
    if at != len(data):
        raise ValueError(f"{path}: {len(data) - at} bytes after the last layer")
    return layers


def _c_float(v: np.float32) -> str:
    """An exact C float literal (hexadecimal) for a float32 value."""
    if v == 0:
        return "-0.0f" if np.signbit(v) else "0.0f"
    mantissa, exponent = float(v).hex().split("p")
    return f"{mantissa.rstrip('0').rstrip('.')}p{exponent}f"


def _c_array(ctype: str, name: str, values, fmt=str) -> str:
    items = [fmt(v) for v in np.ravel(values)]
    rows = [", ".join(items[i:i + 12]) for i in range(0, len(items), 12)]
    return f"static const {ctype} {name}[{len(items)}] = {{\n    " + ",\n    ".join(rows) + "\n};\n"


def write_header(outdir: Path) -> None:
    """Write lenet_data.h: LeNet-5's weights from lenet_weights.bin and the held-out test digits and labels."""
    layers = read_weights(WEIGHTS)
    _, _, images, labels = split()
    parts = ["/* Generated at build time by hwprof.workloads.edge.digits: LeNet-5 weights and the held-out",
             " * scikit-learn digits (uint8 8x8, values 0..16). Do not edit. */",
             "#ifndef LENET_DATA_H", "#define LENET_DATA_H", "",
             f"#define LENET_N_TEST {len(labels)}"]
    for name, shape in zip(LAYERS, SHAPES):
        parts.append(f"#define LENET_{name.upper()}_SHAPE {shape[0]}, {shape[1]}, {shape[2]}, {shape[3]}")
    parts.append("")
    parts.append(_c_array("unsigned char", "lenet_test_pixels", images))
    parts.append(_c_array("unsigned char", "lenet_test_labels", labels))
    for name, (w, b) in zip(LAYERS, layers):
        parts.append(_c_array("float", f"lenet_{name}_w", w, _c_float))
        parts.append(_c_array("float", f"lenet_{name}_b", b, _c_float))
    parts.append("#endif")
    (Path(outdir) / HEADER).write_text("\n".join(parts) + "\n")
