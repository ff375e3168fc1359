#!/usr/bin/env python3
"""Train the `lenet` workload's LeNet-5 on scikit-learn's digits with NumPy, write its weights, print the test accuracy.

Network (input 1x32x32, see hwprof/workloads/edge/digits.py for the data, the split and the input):
conv 5x5, 6 maps -> ReLU -> max pool 2x2 -> conv 5x5, 16 maps (every map sees all 6 inputs) -> ReLU ->
max pool 2x2 -> flatten (16x5x5, channel-major) -> fully connected 120 -> ReLU -> 84 -> ReLU -> 10.
ReLU and max pooling, not tanh and average pooling: inference then needs no libm, so the C program and a
NumPy forward pass agree exactly.

Training: He-initialised weights from NumPy seed 5, float64 arithmetic, softmax cross-entropy, Adam
(learning rate 1e-3), mini-batches of 32 in a seeded order, 30 epochs, no augmentation; the held-out set
is used only for the final report. The weights are stored as float32 in lenet_weights.bin, and the
accuracy printed is that of the stored float32 weights on the 445 held-out images.

    .venv/bin/python scripts/train_lenet.py

takes 1.5 to 4 minutes on 2 cores and prints: held-out test accuracy: 0.9910 (441/445).

The result is reproducible up to the BLAS library's summation order (the same machine gives the same file).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from hwprof.workloads.edge import digits

SEED, EPOCHS, BATCH, LEARNING_RATE = 5, 30, 32, 1e-3


def conv_forward(x, w, b):
    """Valid 2-D convolution (cross-correlation) of x (n, c, h, w) with w (o, c, k, k); returns output and columns."""
    k = w.shape[2]
    cols = sliding_window_view(x, (k, k), axis=(2, 3))           # n, c, ho, wo, k, k
    n, c, ho, wo = cols.shape[:4]
    cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * k * k)
    out = cols @ w.reshape(w.shape[0], -1).T + b
    return out.reshape(n, ho, wo, -1).transpose(0, 3, 1, 2), cols


def conv_backward(dout, x_shape, cols, w):
    """Gradients of conv_forward with respect to its input, weights and biases."""
    n, c, h, width = x_shape
    o, _, k, _ = w.shape
    ho, wo = dout.shape[2:]
    flat = dout.transpose(0, 2, 3, 1).reshape(-1, o)
    dw = (flat.T @ cols).reshape(w.shape)
    dcols = (flat @ w.reshape(o, -1)).reshape(n, ho, wo, c, k, k)
    dx = np.zeros(x_shape)
    for ky in range(k):
        for kx in range(k):
            dx[:, :, ky:ky + ho, kx:kx + wo] += dcols[:, :, :, :, ky, kx].transpose(0, 3, 1, 2)
    return dx, dw, flat.sum(axis=0)


def pool_forward(x):
    """2x2 max pooling with stride 2; returns output and the winning position (first maximum) per window."""
    n, c, h, w = x.shape
    windows = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    winner = windows.argmax(axis=-1)
    return np.take_along_axis(windows, winner[..., None], axis=-1)[..., 0], winner


def pool_backward(dout, winner):
    """Gradient of pool_forward: each window's gradient goes to its winning position."""
    n, c, h2, w2 = dout.shape
    dwin = (np.arange(4) == winner[..., None]) * dout[..., None]
    return dwin.reshape(n, c, h2, w2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, 2 * h2, 2 * w2)


def forward(params, x):
    """Logits for a batch x (n, 1, 32, 32), and what the backward pass needs."""
    (w1, b1), (w2, b2), (w3, b3), (w4, b4), (w5, b5) = params
    a1, cols1 = conv_forward(x, w1, b1)
    r1 = np.maximum(a1, 0)
    p1, win1 = pool_forward(r1)
    a2, cols2 = conv_forward(p1, w2, b2)
    r2 = np.maximum(a2, 0)
    p2, win2 = pool_forward(r2)
    f0 = p2.reshape(len(x), -1)
    f1 = np.maximum(f0 @ w3[:, :, 0, 0].T + b3, 0)
    f2 = np.maximum(f1 @ w4[:, :, 0, 0].T + b4, 0)
    logits = f2 @ w5[:, :, 0, 0].T + b5
    return logits, (x, cols1, a1, win1, p1, cols2, a2, win2, p2, f0, f1, f2)


def backward(params, cache, dlogits):
    """Gradients of every (weight, bias) from the loss gradient at the logits."""
    (w1, _), (w2, _), (w3, _), (w4, _), (w5, _) = params
    x, cols1, a1, win1, p1, cols2, a2, win2, p2, f0, f1, f2 = cache
    grads = [None] * 5
    grads[4] = ((dlogits.T @ f2)[:, :, None, None], dlogits.sum(0))
    d = (dlogits @ w5[:, :, 0, 0]) * (f2 > 0)
    grads[3] = ((d.T @ f1)[:, :, None, None], d.sum(0))
    d = (d @ w4[:, :, 0, 0]) * (f1 > 0)
    grads[2] = ((d.T @ f0)[:, :, None, None], d.sum(0))
    d = (d @ w3[:, :, 0, 0]).reshape(p2.shape)
    d = pool_backward(d, win2) * (a2 > 0)
    d, dw2, db2 = conv_backward(d, p1.shape, cols2, w2)
    grads[1] = (dw2, db2)
    d = pool_backward(d, win1) * (a1 > 0)
    _, dw1, db1 = conv_backward(d, x.shape, cols1, w1)
    grads[0] = (dw1, db1)
    return grads


def init_params(rng):
    """He-initialised weights and zero biases in LeNet-5's shapes."""
    params = []
    for shape in digits.SHAPES:
        fan_in = shape[1] * shape[2] * shape[3]
        params.append((rng.normal(0.0, np.sqrt(2.0 / fan_in), shape), np.zeros(shape[0])))
    return params


def train(x, y, rng):
    """Adam on softmax cross-entropy over shuffled mini-batches; returns the trained parameters."""
    params = init_params(rng)
    moments = [[(np.zeros_like(p), np.zeros_like(p)) for p in layer] for layer in params]
    beta1, beta2, eps, step = 0.9, 0.999, 1e-8, 0
    for epoch in range(EPOCHS):
        order, loss_sum = rng.permutation(len(x)), 0.0
        for start in range(0, len(x), BATCH):
            batch = order[start:start + BATCH]
            logits, cache = forward(params, x[batch])
            logits -= logits.max(axis=1, keepdims=True)
            prob = np.exp(logits)
            prob /= prob.sum(axis=1, keepdims=True)
            loss_sum -= np.log(prob[np.arange(len(batch)), y[batch]]).sum()
            prob[np.arange(len(batch)), y[batch]] -= 1
            grads = backward(params, cache, prob / len(batch))
            step += 1
            for li, layer in enumerate(grads):
                new = []
                for pi, g in enumerate(layer):
                    m, v = moments[li][pi]
                    m = beta1 * m + (1 - beta1) * g
                    v = beta2 * v + (1 - beta2) * g * g
                    moments[li][pi] = (m, v)
                    update = LEARNING_RATE * (m / (1 - beta1 ** step)) / (np.sqrt(v / (1 - beta2 ** step)) + eps)
                    new.append(params[li][pi] - update)
                params[li] = tuple(new)
        print(f"epoch {epoch + 1:2d}: mean training loss {loss_sum / len(x):.4f}")
    return params


def main() -> None:
    """Train, write the float32 weights, report the held-out accuracy of what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=digits.WEIGHTS, help="weights file to write")
    out = parser.parse_args().out
    started = time.perf_counter()
    x_train, y_train, x_test, y_test = digits.split()
    rng = np.random.default_rng(SEED)
    params = train(digits.to_input(x_train)[:, None].astype(np.float64), y_train.astype(int), rng)
    digits.write_weights(out, params)
    stored = [(w.astype(np.float64), b.astype(np.float64)) for w, b in digits.read_weights(out)]
    logits, _ = forward(stored, digits.to_input(x_test)[:, None].astype(np.float64))
    correct = int((logits.argmax(axis=1) == y_test).sum())
    print(f"wrote {out} ({out.stat().st_size} bytes) in {time.perf_counter() - started:.0f} s")
    print(f"held-out test accuracy: {correct / len(y_test):.4f} ({correct}/{len(y_test)})")


if __name__ == "__main__":
    main()
