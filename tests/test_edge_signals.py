"""Edge signal workloads (attitude, inflate): same checksum natively and under Wasmtime, correct results."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from conftest import run_module

from hwprof import workloads
from hwprof.workloads import catalogue, checksum_of, sizes_of
from hwprof.workloads.edge import signals


def run_wasm(path, tmp_path, *args: str) -> tuple[int, str, bytes]:
    """Run a module under the wasmtime package with no-op markers: exit status, stdout, stderr bytes."""
    return run_module(path, tmp_path, args, path.stem)


def lines(stdout: str) -> dict[str, list[str]]:
    """Each output line's fields, keyed by its first word ('roll:', 'entry:', ...); later lines win."""
    return {ln.split()[0]: ln.split()[1:] for ln in stdout.splitlines() if ln.strip()}


@pytest.mark.parametrize("name, size", [(n, s) for n in ("attitude", "inflate")
                                        for s in sizes_of(catalogue()["workload"][n])])
def test_wasm_and_native_print_the_expected_checksum(name, size, tmp_path):
    wasm = workloads.build(name, size)
    status, out, _ = run_wasm(wasm.program, tmp_path)
    native = workloads.run_native(workloads.build(name, size, flavour="native"))
    assert status == 0 and native.returncode == 0, native.stderr
    assert checksum_of(out) == checksum_of(native.stdout) == wasm.expected != ""


# --- attitude -------------------------------------------------------------------------------------

def _quat_from_euler(deg):
    r, p, y = np.radians(np.asarray(deg, float)) / 2
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    return np.array([cr * cp * cy + sr * sp * sy, sr * cp * cy - cr * sp * sy,
                     cr * sp * cy + sr * cp * sy, cr * cp * sy - sr * sp * cy])


def _euler_from_quats(q):
    w, x, y, z = q.T
    return np.degrees(np.stack([np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y)),
                                np.arcsin(np.clip(2 * (w * y - x * z), -1, 1)),
                                np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))], -1))


def gyro_only(gyro, start_deg, dt=1.0 / signals.RATE_HZ):
    """Dead reckoning: integrate the gyroscope alone from the true initial attitude (degrees in, degrees out)."""
    q, out = _quat_from_euler(start_deg), []
    for i, w in enumerate(gyro.astype(float)):
        if i:
            rate = np.linalg.norm(w)
            a, b, c, d = np.cos(rate * dt / 2), *(np.sin(rate * dt / 2) / rate * w)
            q = np.array([q[0] * a - q[1] * b - q[2] * c - q[3] * d, q[0] * b + q[1] * a + q[2] * d - q[3] * c,
                          q[0] * c - q[1] * d + q[2] * a + q[3] * b, q[0] * d + q[1] * c - q[2] * b + q[3] * a])
        out.append(q)
    return _euler_from_quats(np.array(out))


def rms_per_axis(est, truth):
    err = (est - truth + 180.0) % 360.0 - 180.0
    return np.sqrt((err ** 2).mean(axis=0))


def dumped(stderr: bytes, name: str) -> np.ndarray:
    """An array from PolyBench's dump format."""
    text = stderr.decode()
    body = text.split(f"begin dump: {name}")[1].split(f"end   dump: {name}")[0]
    return np.array(body.split(), float)


@pytest.mark.parametrize("size, seconds", [("small", 10), ("default", 60)])
def test_attitude_filter_tracks_the_drive_and_beats_the_gyroscope_alone(size, seconds, tmp_path):
    drive = signals.drive()
    n = seconds * signals.RATE_HZ
    truth = drive["truth"][:n].astype(float)
    status, out, err = run_wasm(workloads.build("attitude", size).program, tmp_path, "dump")
    assert status == 0
    got = lines(out)
    est = dumped(err, "angles").reshape(n, 3)
    rms = rms_per_axis(est, truth)
    for k, axis in enumerate(("roll", "pitch", "yaw")):
        # "<axis>: <final> true: <true final> rms_error_deg: <rms>"
        final, true_final, printed_rms = (float(got[f"{axis}:"][i]) for i in (0, 2, 4))
        assert true_final == pytest.approx(truth[-1, k], abs=1e-5)      # the header holds the drive we made
        assert final == pytest.approx(est[-1, k], abs=0.006)             # the dump rounds to 0.01
        assert printed_rms == pytest.approx(rms[k], abs=0.01)
    assert float(got["rms_error_deg:"][0]) == pytest.approx(np.sqrt((rms ** 2).mean()), abs=0.01)
    # Bounds: the gyro bias (up to 1 deg/s per axis) is unknown at the start; until the integral term
    # has learnt it, the proportional term holds a tilt error of about bias / KP = 1 deg, decaying over
    # a few seconds, and white noise adds only hundredths of a degree. Heading is steered only by the
    # field's horizontal part (cos 64 deg of it), so its transient is about twice as large. Hence
    # roll/pitch RMS < 1.5 deg and yaw RMS < 3 deg, with margin over the 0.2-0.9 deg seen.
    assert rms[0] < 1.5 and rms[1] < 1.5 and rms[2] < 3.0
    dead = rms_per_axis(gyro_only(drive["gyro"][:n], truth[0]), truth)
    # The gyroscope alone drifts by the bias times the elapsed time (several degrees after 10 s, tens
    # after 60 s) even from the true start; the filter must be at least 5x better overall.
    assert np.sqrt((rms ** 2).mean()) * 5 < np.sqrt((dead ** 2).mean())
    assert dead.max() > 3.0                                              # the drive really has gyro drift


def test_drive_is_reproducible_and_consistent():
    a, b = signals.drive(10), signals.drive(10)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    # Without the bias, integrating the simulated body rates reproduces the true attitude.
    unbiased = (a["gyro"] - a["gyro_bias"]).astype(np.float32)
    assert rms_per_axis(gyro_only(unbiased, a["truth"][0]), a["truth"]).max() < 0.2


# --- inflate --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def inflate_wasm():
    return workloads.build("inflate").program


def test_inflate_output_is_what_zipfile_extracts(inflate_wasm, tmp_path):
    status, out, err = run_wasm(inflate_wasm, tmp_path, "dump")
    assert status == 0
    archive = zipfile.ZipFile(io.BytesIO(signals.archive()))
    expected = b"".join(archive.read(info) for info in archive.infolist())
    assert len(err) == len(expected) and err == expected
    got = lines(out)
    stored, fixed, dynamic = (int(got["blocks:"][i]) for i in (1, 3, 5))
    assert stored > 0 and fixed > 0 and dynamic > 0                       # every block type was decoded
    assert out.count("entry:") == len(archive.infolist()) > 5


def _data_offset(zip_bytes: bytes, info: zipfile.ZipInfo) -> int:
    """Where an entry's data starts (after its local header's name and extra field)."""
    h = info.header_offset
    name_len, extra_len = (int.from_bytes(zip_bytes[h + k:h + k + 2], "little") for k in (26, 28))
    return h + 30 + name_len + extra_len


@pytest.mark.parametrize("entry, why", [("manifest.json", b"CRC-32"), ("text/prose.txt", b"text/prose.txt")])
def test_inflate_rejects_a_corrupted_archive(inflate_wasm, tmp_path, entry, why):
    zip_bytes = signals.archive()
    info = zipfile.ZipFile(io.BytesIO(zip_bytes)).getinfo(entry)
    # A stored entry's bytes pass through unchecked by deflate: only the CRC-32 can catch the flip.
    offset = _data_offset(zip_bytes, info) + info.compress_size // 2
    status, out, err = run_wasm(inflate_wasm, tmp_path, "corrupt", str(offset))
    assert status == 1 and why in err and checksum_of(out) == ""


def test_inflate_rejects_a_bad_local_header(inflate_wasm, tmp_path):
    status, _, err = run_wasm(inflate_wasm, tmp_path, "corrupt", "0")
    assert status == 1 and b"signature" in err
