"""Scenes for the face tests, built from the seed portraits (../shared, never committed) and textures.

Each scene knows where its faces are: the detector's box on the portrait at full size, carried through
the paste. Portraits are pasted at sizes the finer of the detector's two looks can see (a twentieth of
the scene's longer side and up), several per picture, on synthetic textures.
"""

import numpy as np
from PIL import Image

from conftest import texture
from facespectra.runtime.faces import find_faces


def portrait(seed_dir, cls, index):
    return Image.open(sorted((seed_dir / cls).iterdir())[index]).convert("RGB")


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area


def scene(portraits, placements, size=(1600, 1200), seed=0):
    """Portraits pasted at (left, top, side) on a texture -> (image, expected face boxes)."""
    canvas = texture(max(size), seed=seed).crop((0, 0, *size))
    expected = []
    for img, (left, top, side) in zip(portraits, placements):
        box = find_faces(img)[0]["box"]
        k = side / img.size[0]
        canvas.paste(img.resize((side, side), Image.LANCZOS), (left, top))
        expected.append([left + box[0] * k, top + box[1] * k, left + box[2] * k, top + box[3] * k])
    return canvas, expected


def rotated(img, degrees, size, seed=0):
    """A portrait turned by `degrees` in the middle of a texture, the corners it uncovers filled by the texture."""
    canvas = texture(size, seed=seed)
    turned = img.convert("RGBA").rotate(degrees, Image.BICUBIC, expand=True)
    side = int(size * 0.6)
    turned = turned.resize((side, side), Image.LANCZOS)
    canvas.paste(turned, ((size - side) // 2, (size - side) // 2), turned)
    return canvas


def matched(found, expected, min_iou=0.4):
    """For each expected box, whether some found box overlaps it by min_iou."""
    return [any(iou(f["box"], e) >= min_iou for f in found) for e in expected]


def no_face_images():
    """Pictures without a face: smooth textures, up-sampled textures, noise, gradients, stripes."""
    rng = np.random.default_rng(7)
    yield from (texture(size, seed=seed, upsample=up) for seed, (size, up) in
                enumerate([(512, 1), (1024, 1), (768, 4), (640, 2), (900, 1), (1200, 3)] * 4))
    yield Image.fromarray(rng.integers(0, 256, (700, 900), dtype=np.uint8), "L")
    ramp = np.linspace(0, 255, 1000)
    yield Image.fromarray(np.add.outer(ramp[:800] / 2, ramp / 2).astype(np.uint8), "L")
    yield Image.fromarray(((np.sin(np.arange(1024) / 6.0)[None, :] + 1) * 127 * np.ones((768, 1))).astype(np.uint8), "L")
