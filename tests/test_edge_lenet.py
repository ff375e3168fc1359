"""The `lenet` edge workload: same checksum natively and under Wasmtime, >= 95% accurate, equal to NumPy, valid weights."""

from __future__ import annotations

import struct
import subprocess

import numpy as np
import pytest

from conftest import run_module

from hwprof import workloads

pytest.importorskip("sklearn")
from hwprof.workloads.edge import digits  # noqa: E402  (needs scikit-learn)

LENET5 = [(6, 1, 5, 5), (16, 6, 5, 5), (120, 400, 1, 1), (84, 120, 1, 1), (10, 84, 1, 1)]


@pytest.fixture(scope="module")
def builds():
    """The wasm and native builds at the default size (one artefact per target serves both sizes)."""
    return {t: workloads.build("lenet", "default", flavour=t) for t in ("wasm", "native")}


def run_wasm(workload, args, tmp_path) -> tuple[str, str]:
    """Run under the wasmtime package with no-op markers; return stdout and stderr."""
    status, out, err = run_module(workload.program, tmp_path, args, "lenet")
    assert status == 0, f"lenet exited with {status}"
    return out, err.decode()


def dumped_labels(stderr: str) -> np.ndarray:
    """The predicted labels from the program's dump on stderr."""
    body = stderr.split("begin dump: predicted", 1)[1].split("end   dump: predicted", 1)[0]
    return np.array([int(v) for v in body.split()], dtype=np.uint8)


def value_of(stdout: str, key: str) -> str:
    return next(ln for ln in stdout.splitlines() if ln.startswith(key + ":")).split(":", 1)[1].strip()


def forward_float32(layers, images: np.ndarray) -> np.ndarray:
    """Logits in float32, every sum started at the bias and added in the C program's order (exact agreement)."""
    x = digits.to_input(images)[:, None]
    for (w, b) in layers[:2]:
        o, c, k, _ = w.shape
        m = x.shape[2] - k + 1
        acc = np.broadcast_to(b[None, :, None, None], (len(x), o, m, m)).copy()
        for ci in range(c):
            for ky in range(k):
                for kx in range(k):
                    acc += w[None, :, ci, ky, kx, None, None] * x[:, ci, None, ky:ky + m, kx:kx + m]
        r = np.where(acc > 0, acc, np.float32(0))
        x = r.reshape(len(x), o, m // 2, 2, m // 2, 2).max(axis=(3, 5))
    x = x.reshape(len(x), -1)
    for li, (w, b) in enumerate(layers[2:]):
        acc = np.broadcast_to(b, (len(x), len(b))).copy()
        for i in range(w.shape[1]):
            acc += w[None, :, i, 0, 0] * x[:, i, None]
        x = acc if li == 2 else np.where(acc > 0, acc, np.float32(0))
    return x


def forward_float64(layers, images: np.ndarray) -> np.ndarray:
    """Logits in float64 by einsum: an independent check of the float32 reference's layout."""
    x = digits.to_input(images)[:, None].astype(np.float64)
    for (w, b) in layers[:2]:
        win = np.lib.stride_tricks.sliding_window_view(x, (5, 5), axis=(2, 3))
        a = np.maximum(np.einsum("ncyxij,ocij->noyx", win, w.astype(np.float64)) + b[None, :, None, None], 0)
        n, o, m, _ = a.shape
        x = a.reshape(n, o, m // 2, 2, m // 2, 2).max(axis=(3, 5))
    x = x.reshape(len(x), -1)
    for li, (w, b) in enumerate(layers[2:]):
        x = x @ w[:, :, 0, 0].T.astype(np.float64) + b
        x = x if li == 2 else np.maximum(x, 0)
    return x


@pytest.mark.parametrize("size", ["small", "default"])
def test_wasm_and_native_print_the_expected_checksum(builds, size, tmp_path):
    native = workloads.build("lenet", size, flavour="native")
    assert native.program == builds["native"].program and native.args == (size,)
    wasm_out, _ = run_wasm(builds["wasm"], (size,), tmp_path)
    native_out = workloads.run_native(native).stdout
    assert len(native.expected) == 16
    assert workloads.checksum_of(wasm_out) == workloads.checksum_of(native_out) == native.expected


def test_accuracy_on_the_held_out_digits_is_at_least_95_percent(builds):
    _, _, _, labels = digits.split()
    done = workloads.run_native(builds["native"], ("dump",))
    predicted = dumped_labels(done.stderr)
    assert len(predicted) == len(labels) == 445
    accuracy = float(value_of(done.stdout, "accuracy"))
    assert accuracy == pytest.approx(np.mean(predicted == labels), abs=5e-5)
    assert value_of(done.stdout, "correct") == f"{int((predicted == labels).sum())} of 445"
    assert accuracy >= 0.95


def test_predictions_equal_a_numpy_forward_pass(builds, tmp_path):
    layers = digits.read_weights()
    _, _, images, _ = digits.split()
    native = dumped_labels(workloads.run_native(builds["native"], ("dump",)).stderr)
    _, wasm_err = run_wasm(builds["wasm"], ("small", "dump"), tmp_path)
    exact = forward_float32(layers, images).argmax(axis=1)
    assert np.array_equal(native, exact)
    assert np.array_equal(dumped_labels(wasm_err), exact[:64])
    logits = forward_float64(layers, images)
    top2 = np.sort(logits, axis=1)[:, -2:]
    near_ties = top2[:, 1] - top2[:, 0] < 1e-4
    assert np.array_equal(native[~near_ties], logits.argmax(axis=1)[~near_ties])
    assert near_ties.sum() == 0


def test_weights_file_has_a_valid_header_and_lenet5_shapes():
    data = digits.WEIGHTS.read_bytes()
    assert data[:4] == b"LNT5"
    version, count = struct.unpack_from("<II", data, 4)
    assert (version, count) == (1, 5)
    shapes = [struct.unpack_from("<4I", data, 12 + 16 * i) for i in range(count)]
    assert shapes == LENET5
    params = sum(int(np.prod(s)) + s[0] for s in shapes)
    assert params == 61706
    assert len(data) == 12 + 16 * count + 4 * params
    values = np.frombuffer(data, "<f4", params, 12 + 16 * count)
    assert np.isfinite(values).all() and values.std() > 0.01
    assert [w.shape for w, _ in digits.read_weights()] == LENET5


def test_a_corrupt_weights_file_and_a_bad_size_are_refused(builds, tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(digits.WEIGHTS.read_bytes()[:-4])
    with pytest.raises(ValueError, match="bytes after|unpack|buffer"):
        digits.read_weights(bad)
    done = subprocess.run([str(builds["native"].program), "huge"], capture_output=True, text=True)
    assert done.returncode == 2 and "size must be" in done.stderr
