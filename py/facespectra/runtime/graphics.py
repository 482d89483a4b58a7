"""Graphics drawn over a picture (captions, labels, stickers, text): flat fills beside sharp edges.

Their straight, sharp edges put energy near the spectrum's axes and at its grid frequencies, where a
generator's up-sampling leaves its traces, so the spectral model reads them as generated: before this
check, 28 of the 75 held-out real photos with a caption bar drawn on them were called generated
(scripts/edits_probe.py). A photo's own flat areas (a blurred background, a JPEG block holding only its
mean) rarely sit beside an edge so sharp; a drawn fill does, all along it. The score is the share of
8×8 blocks that are flat and beside a block holding such an edge: at most 0.0027 on the 450 seed photos as
distributed and re-saved at q75, at least 0.0050 on them with a caption drawn over them.
numpy + Pillow + standard library only: the page runs this module in Pyodide.
"""

import numpy as np

BLOCK = 8  # JPEG's blocks: a drawn fill's blocks decode flat, a photo's seldom do beside a sharp edge
FLAT_RANGE = 2  # a block whose luma spans at most this many levels is flat
STEP = 96  # levels between neighbouring pixels: a drawn edge, seldom a photographed one


def _blocks(a):
    """(h, w) -> (h // BLOCK, w // BLOCK, BLOCK²): the whole blocks from the top left, as JPEG tiles."""
    h, w = (a.shape[0] // BLOCK) * BLOCK, (a.shape[1] // BLOCK) * BLOCK
    return a[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).swapaxes(1, 2).reshape(h // BLOCK, w // BLOCK, -1)


def score(img):
    """A Pillow image -> the share of its luma's 8×8 blocks that are flat and beside (above, below, left or
    right of) a block holding a step of at least STEP levels; 0.0 for an image under one block."""
    luma = np.asarray(img if img.mode == "L" else img.convert("L"), dtype=np.int16)
    if min(luma.shape) < BLOCK:
        return 0.0
    tiles = _blocks(luma)
    flat = tiles.max(axis=-1) - tiles.min(axis=-1) <= FLAT_RANGE
    step = np.zeros(luma.shape, dtype=bool)
    step[:, :-1] |= np.abs(np.diff(luma, axis=1)) >= STEP
    step[:-1, :] |= np.abs(np.diff(luma, axis=0)) >= STEP
    edged = _blocks(step).any(axis=-1)
    beside = np.zeros_like(edged)
    beside[1:] |= edged[:-1]
    beside[:-1] |= edged[1:]
    beside[:, 1:] |= edged[:, :-1]
    beside[:, :-1] |= edged[:, 1:]
    return float(np.mean(flat & beside))
