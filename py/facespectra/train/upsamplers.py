"""Synthetic fakes: a real image halved, then doubled again by a small random network.

Generators build images by up-sampling (transposed convolutions, or nearest/bilinear
up-sampling followed by convolutions), and that leaves periodic traces in the spectrum
whatever the generator. Training on real images passed through random networks of that
family teaches the model the family of artifacts rather than one generator's fingerprint.
Weights are an identity-like base plus random perturbation so the picture stays a face and
only the up-sampling fingerprint changes. Pure numpy, seeded: the same seed gives the same image.
"""

import numpy as np
from PIL import Image

KINDS = ("transposed", "nearest", "bilinear")
WIDTH = 6  # hidden channels


def conv2d(x, k):
    """'same' convolution (correlation) of x (h, w, cin) with k (kh, kw, cin, cout), edges reflected."""
    kh, kw = k.shape[:2]
    top, left = (kh - 1) // 2, (kw - 1) // 2
    xp = np.pad(x, ((top, kh - 1 - top), (left, kw - 1 - left), (0, 0)), mode="reflect")
    h, w = x.shape[:2]
    out = np.zeros((h, w, k.shape[3]))
    for i in range(kh):
        for j in range(kw):
            out += xp[i:i + h, j:j + w] @ k[i, j]
    return out


def _identity_kernel(size, cin, cout, taps):
    """cout channels each copying input channel (c mod cin) through the separable 1-D `taps`."""
    k = np.zeros((size, size, cin, cout))
    t2 = np.outer(taps, taps)
    for c in range(cout):
        k[:, :, c % cin, c] = t2
    return k


def _perturbed(base, rng, strength):
    return base + rng.normal(0.0, strength * np.abs(base).max(), base.shape)


def _leaky(x):
    return np.where(x > 0, x, 0.2 * x)


def upsample(x, kind, rng, strength):
    """(h, w, 3) floats centred on 0 -> (2h, 2w, 3) through one random network of `kind`."""
    h, w, c = x.shape
    if kind == "transposed":
        # transposed convolution, stride 2, 4x4 kernel = zero insertion then convolution;
        # the base kernel is bilinear interpolation (gain 4 makes up for the inserted zeros)
        up = np.zeros((2 * h, 2 * w, c))
        up[::2, ::2] = x
        base = _identity_kernel(4, c, WIDTH, np.array([0.25, 0.75, 0.75, 0.25]) * 2)
        hidden = conv2d(up, _perturbed(base, rng, strength))
    else:
        if kind == "nearest":
            up = x.repeat(2, axis=0).repeat(2, axis=1)
        elif kind == "bilinear":
            up = np.stack([np.asarray(Image.fromarray(x[:, :, i].astype(np.float32), "F")
                                      .resize((2 * w, 2 * h), Image.BILINEAR), dtype=np.float64)
                           for i in range(c)], axis=2)
        else:
            raise ValueError(f"unknown up-sampler {kind!r}; choose one of {KINDS}")
        base = _identity_kernel(3, c, WIDTH, np.array([0.0, 1.0, 0.0]))
        hidden = conv2d(up, _perturbed(base, rng, strength))
    out_base = np.zeros((3, 3, WIDTH, c))
    for i in range(WIDTH):
        out_base[1, 1, i, i % c] = c / WIDTH
    return conv2d(_leaky(hidden), _perturbed(out_base, rng, strength))


def synthesise(img, kind, seed, strength=0.1, stages=1):
    """RGB Pillow image -> same-size RGB image re-made by shrinking it 2**stages times and doubling it
    `stages` times, each through its own random network of `kind`.

    Training uses one stage; generators double their image many times, and more stages (never
    trained on) measure how the model meets an up-sampling depth it has not seen.
    """
    rng = np.random.default_rng(seed)
    w, h = img.size
    small = img.resize((w >> stages, h >> stages), Image.LANCZOS)
    x = np.asarray(small, dtype=np.float64) / 127.5 - 1.0
    y = x
    for _ in range(stages):
        y = upsample(y, kind, rng, strength)
    # keep each channel's level and contrast, so only the fine structure differs from the source
    y = (y - y.mean(axis=(0, 1))) / (y.std(axis=(0, 1)) + 1e-12) * x.std(axis=(0, 1)) + x.mean(axis=(0, 1))
    arr = np.clip(np.rint((y + 1.0) * 127.5), 0, 255).astype(np.uint8)
    out = Image.fromarray(arr, "RGB")
    return out if out.size == (w, h) else out.resize((w, h), Image.LANCZOS)
