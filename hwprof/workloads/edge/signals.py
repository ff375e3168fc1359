"""Build-time inputs of the edge signal workloads: a simulated drive's MARG samples, a deflate zip archive."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

RATE_HZ = 100
DRIVE_SECONDS = 60
GRAVITY = 9.80665                 # m/s^2, standard gravity
FIELD_UT = 48.0                   # Earth's magnetic field strength, microtesla (central Europe)
INCLINATION_DEG = 64.0            # dip angle of the field below the horizon
GYRO_NOISE_DPS = 0.15             # white noise of each gyroscope sample, degrees/s
ACCEL_NOISE = 0.05                # m/s^2
MAG_NOISE_UT = 0.4
ARCHIVE_TIME = (2024, 1, 1, 0, 0, 0)


def _turn(u):
    """A smooth 0..1 step over u in [0, 1] and its first two derivatives (a heading change)."""
    u = np.clip(u, 0.0, 1.0)
    inside = (u > 0) & (u < 1)
    w = 2 * np.pi * u
    step = u - np.sin(w) / (2 * np.pi)
    return step, np.where(inside, 1 - np.cos(w), 0.0), np.where(inside, 2 * np.pi * np.sin(w), 0.0)


def _bumps(t, rng, count, amp_deg):
    """Damped oscillations started at random times (wheels over bumps) and their time derivative, radians."""
    angle, rate = np.zeros_like(t), np.zeros_like(t)
    for start in np.sort(rng.uniform(0, t[-1], count)):
        a = np.radians(rng.uniform(0.3, 1.0) * amp_deg) * rng.choice([-1, 1])
        f, tau = rng.uniform(1.5, 2.5), rng.uniform(0.3, 0.6)
        s = np.maximum(t - start, 0.0)
        on = t >= start
        decay, w = np.exp(-s / tau), 2 * np.pi * f
        angle += np.where(on, a * decay * np.sin(w * s), 0.0)
        rate += np.where(on, a * decay * (w * np.cos(w * s) - np.sin(w * s) / tau), 0.0)
    return angle, rate


def _trajectory(t, rng):
    """True roll, pitch, yaw (radians) of a car on a winding, hilly, bumpy road, and their time derivatives."""
    yaw = np.full_like(t, np.radians(30.0))
    yaw_rate, yaw_acc = np.zeros_like(t), np.zeros_like(t)
    start = 2.0
    while start < t[-1]:
        dur, turn = rng.uniform(5.0, 10.0), np.radians(rng.uniform(20.0, 90.0)) * rng.choice([-1, 1])
        s, ds, dds = _turn((t - start) / dur)
        yaw += turn * s
        yaw_rate += turn * ds / dur
        yaw_acc += turn * dds / dur**2
        start += dur + rng.uniform(1.0, 4.0)
    w = 2 * np.pi / 7.0                                             # lane meander
    yaw += np.radians(2.0) * np.sin(w * t)
    yaw_rate += np.radians(2.0) * w * np.cos(w * t)
    yaw_acc -= np.radians(2.0) * w * w * np.sin(w * t)
    pitch, pitch_rate = _bumps(t, rng, int(t[-1] / 3) + 1, 1.5)
    for amp, period in ((4.0, 40.0), (2.5, 17.0), (1.5, 9.0)):     # hills
        w, phase = 2 * np.pi / period, rng.uniform(0, 2 * np.pi)
        pitch += np.radians(amp) * np.sin(w * t + phase)
        pitch_rate += np.radians(amp) * w * np.cos(w * t + phase)
    roll, roll_rate = _bumps(t, rng, int(t[-1] / 3) + 1, 0.8)
    speed, roll_per_accel = 15.0, np.radians(0.5)                   # m/s; body roll per m/s^2 lateral
    roll += roll_per_accel * speed * yaw_rate
    roll_rate += roll_per_accel * speed * yaw_acc
    w, phase = 2 * np.pi / 23.0, rng.uniform(0, 2 * np.pi)          # road camber
    roll += np.radians(1.5) * np.sin(w * t + phase)
    roll_rate += np.radians(1.5) * w * np.cos(w * t + phase)
    return roll, pitch, yaw, roll_rate, pitch_rate, yaw_rate


def _body_to_ned(roll, pitch, yaw):
    """Rotation matrices R = Rz(yaw) Ry(pitch) Rx(roll), shape (n, 3, 3), taking body vectors to NED."""
    cr, sr, cp, sp, cy, sy = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    return np.stack([
        np.stack([cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr], -1),
        np.stack([sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr], -1),
        np.stack([-sp, cp * sr, cp * cr], -1),
    ], -2)


def drive(seconds: float = DRIVE_SECONDS, seed: int = 20240611) -> dict[str, np.ndarray]:
    """A simulated drive: MARG samples (float32; gyro rad/s, accel m/s^2, mag uT), true attitude, gyro bias.

    The accelerometer senses gravity only (no linear acceleration); truth is roll, pitch, yaw in degrees.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * RATE_HZ))) / RATE_HZ
    roll, pitch, yaw, droll, dpitch, dyaw = _trajectory(t, rng)
    rates = np.stack([                                              # Euler rates (ZYX) to body rates
        droll - dyaw * np.sin(pitch),
        dpitch * np.cos(roll) + dyaw * np.sin(roll) * np.cos(pitch),
        -dpitch * np.sin(roll) + dyaw * np.cos(roll) * np.cos(pitch),
    ], -1)
    to_body = np.swapaxes(_body_to_ned(roll, pitch, yaw), -1, -2)
    incl = np.radians(INCLINATION_DEG)
    field = FIELD_UT * np.array([np.cos(incl), 0.0, np.sin(incl)])
    bias = np.radians(rng.uniform(0.5, 1.0, 3) * rng.choice([-1, 1], 3))
    n, gravity = len(t), np.array([0.0, 0.0, -GRAVITY])                # specific force at rest, NED
    return {
        "gyro": (rates + bias + np.radians(GYRO_NOISE_DPS) * rng.standard_normal((n, 3))).astype(np.float32),
        "accel": (to_body @ gravity + ACCEL_NOISE * rng.standard_normal((n, 3))).astype(np.float32),
        "mag": (to_body @ field + MAG_NOISE_UT * rng.standard_normal((n, 3))).astype(np.float32),
        "truth": np.degrees(np.stack([roll, pitch, np.angle(np.exp(1j * yaw))], -1)).astype(np.float32),
        "gyro_bias": bias,
    }


def _c_floats(name: str, rows: np.ndarray) -> str:
    body = ",\n".join("{" + ", ".join(np.format_float_scientific(v, unique=True) + "f" for v in row) + "}"
                      for row in rows)
    return f"static const float {name}[{len(rows)}][3] = {{\n{body}}};\n"


def write_attitude_drive(outdir: Path) -> None:
    """Write attitude_drive.h: 60 s of 100 Hz MARG samples and the true attitude at each sample."""
    d = drive()
    head = (f"/* Generated by hwprof.workloads.edge.signals.write_attitude_drive: a simulated drive. */\n"
            f"#define DRIVE_RATE_HZ {RATE_HZ}\n#define DRIVE_SAMPLES {len(d['gyro'])}\n")
    parts = [_c_floats(f"drive_{k}", d[k]) for k in ("gyro", "accel", "mag", "truth")]
    (Path(outdir) / "attitude_drive.h").write_text(head + "".join(parts))


def _prose(rng, nbytes: int) -> bytes:
    """Pseudo-English: Zipf-distributed made-up words in sentences and paragraphs."""
    syllables = [c + v for c in "bcdfghklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
    words = ["".join(rng.choice(syllables, rng.integers(1, 4))) for _ in range(3000)]
    p = 1.0 / np.arange(1, len(words) + 1) ** 1.1
    picks = iter(rng.choice(len(words), nbytes // 4, p=p / p.sum()).tolist())
    ends = [". ", ". ", "! ", "? ", ".\n\n"]
    out, size = [], 0
    while size < nbytes:
        sentence = " ".join(words[next(picks)] for _ in range(rng.integers(5, 20)))
        sentence = sentence[0].upper() + sentence[1:] + ends[rng.integers(0, len(ends))]
        out.append(sentence)
        size += len(sentence)
    return "".join(out).encode()[:nbytes]


def _log(rng, lines: int) -> bytes:
    """Web-server-like log lines: repeated templates with varying numbers (long, frequent matches)."""
    paths = ["/api/v1/items/", "/api/v1/users/", "/static/img/", "/health", "/api/v2/orders/"]
    levels = ["INFO ", "INFO ", "INFO ", "WARN ", "DEBUG"]
    out = []
    for i in range(lines):
        ms = i * 37 + int(rng.integers(0, 30))
        out.append(f"2024-01-01T{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}."
                   f"{ms % 1000:03d}Z {levels[rng.integers(0, 5)]} [worker-{rng.integers(0, 8)}] "
                   f"GET {paths[rng.integers(0, 5)]}{rng.integers(0, 5000)} status="
                   f"{rng.choice([200, 200, 200, 304, 404, 500])} bytes={rng.integers(100, 90000)} "
                   f"ms={rng.gamma(2.0, 8.0):.1f}\n")
    return "".join(out).encode()


def _records(rng, count: int) -> bytes:
    """Binary sensor records: increasing uint32 timestamps, random-walk int16 axes, noisy float32 temperature."""
    rec = np.zeros(count, dtype=[("t", "<u4"), ("xyz", "<i2", 3), ("temp", "<f4")])
    rec["t"] = np.cumsum(rng.integers(9, 12, count))
    rec["xyz"] = np.clip(np.cumsum(rng.integers(-40, 41, (count, 3)), axis=0), -32768, 32767)
    rec["temp"] = 21.5 + np.round(rng.normal(0, 0.2, count), 2)
    return rec.tobytes()


def _image(rng, side: int) -> bytes:
    """A greyscale PGM: smooth shading with flat rectangles (rows repeat at distance `side`)."""
    y, x = np.mgrid[:side, :side]
    img = ((x + y) // 4 % 256).astype(np.uint8)
    for _ in range(40):
        x0, y0, w, h = rng.integers(0, side, 2).tolist() + rng.integers(8, side // 3, 2).tolist()
        img[y0:y0 + h, x0:x0 + w] = rng.integers(0, 256)
    return f"P5\n{side} {side}\n255\n".encode() + img.tobytes()


def archive(seed: int = 1951) -> bytes:
    """The inflate workload's zip: several deflated entries (text and binary) and one stored entry."""
    rng = np.random.default_rng(seed)
    entries = [
        ("README.txt", b"Synthetic files for hwprof's inflate workload: prose, logs, records, an image, noise.\n"),
        ("text/prose.txt", _prose(rng, 1_200_000)),
        ("logs/access.log", _log(rng, 16_000)),
        ("data/records.bin", _records(rng, 40_000)),
        ("data/image.pgm", _image(rng, 640)),
        ("data/noise.bin", rng.integers(0, 256, 60_000, dtype=np.uint8).tobytes()),
        ("VERSION", b"hwprof inflate workload 1\n"),                 # short: a fixed-Huffman block
        ("data/ramp.bin", bytes(range(7)) * 3000),                 # long overlapping copies (distance 7)
    ]
    manifest = json.dumps({name: len(data) for name, data in entries}, indent=1).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries + [("manifest.json", manifest)]:
            info = zipfile.ZipInfo(name, date_time=ARCHIVE_TIME)
            info.compress_type = zipfile.ZIP_STORED if name == "manifest.json" else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def write_inflate_archive(outdir: Path) -> None:
    """Write inflate_archive.h: the zip archive's bytes as a C array."""
    data = archive()
    rows = (",".join(map(str, data[i:i + 32])) for i in range(0, len(data), 32))
    (Path(outdir) / "inflate_archive.h").write_text(
        "/* Generated by hwprof.workloads.edge.signals.write_inflate_archive: a zip archive. */\n"
        f"#define ARCHIVE_BYTES {len(data)}\n"
        f"static unsigned char archive_zip[ARCHIVE_BYTES] = {{\n" + ",\n".join(rows) + "};\n")
