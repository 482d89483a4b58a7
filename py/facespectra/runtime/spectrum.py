"""Image bytes -> spectral feature vector, driven by a FeatureConfig that is plain data.

The recipe: grayscale, (crop / resize), optional window, 2-D DFT, log magnitude,
azimuthal (radial) average. The config `seed` reproduces the seed method exactly;
the product's configs bin over *normalised* frequency so that any image from 64 px
up gives the same number of features, with orthonormal FFT scaling so that image
size does not shift the spectrum's level.
"""

from dataclasses import asdict, dataclass, fields
from functools import lru_cache

import numpy as np
from PIL import Image

from . import decode
from .errors import InputError

GRAY_MODES = ("luma", "mean")
RADIAL_MODES = ("normalised", "integer")
WINDOWS = ("none", "hann")
CROPS = ("none", "center")
ANGULAR = ("all", "axes", "axes_diag")
AXIS_DEGREES = 15.0  # "axes": coefficients within this angle of the horizontal or vertical axis
DIAGONAL_DEGREES = 15.0  # "axes_diag": also a sector within this angle of the diagonals
# Each angular mode's sectors, in the order of their profiles in the vector (named for explanations).
SECTOR_NAMES = {"all": ("",), "axes": ("near the axes", "off the axes"),
                "axes_diag": ("near the axes", "between axes and diagonals", "near the diagonals")}
SECTORS = {mode: len(names) for mode, names in SECTOR_NAMES.items()}
SCALES = (1, 2)
GRID_PERIODS = (0, 4, 8, 16)
# Fields added after the first weights shipped: left out of to_dict() at their defaults, so older
# weights and cache keys stay byte-identical.
LATER_FIELDS = {"ring_std": False, "scales": 1, "grid_peaks": 0}
# Bounds on what a weights file may ask of every check: a 4096² spectrum is already 16 times the shipped
# 1024² one, and an imported file must not make each check allocate without limit.
MAX_SIDE = 4096
MAX_BINS = 4096
MAX_LOG_SCALE = 1000.0
MIN_EPS = 1e-30  # log(eps) stays far from float64's limits


def _is_int(value):
    """An integer from JSON (true is no number, though bool is an int in Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


@dataclass(frozen=True)
class FeatureConfig:
    """Every choice of the extractor; stored inside the weights so the page runs the same recipe."""

    name: str = "radial64"
    gray: str = "luma"  # "luma": decoder's Y / ITU-R 601; "mean": (R+G+B)/3 as the seed
    resize: int = 0  # >0: resize to resize×resize first (the seed assumes 1024²); 0: never
    crop: str = "center"  # "center": central square of the shorter side; "none": whole image
    max_side: int = 1024  # crop at most this many pixels per side (cropping keeps the fingerprint, resizing would not)
    window: str = "hann"
    fft_norm: str = "ortho"  # "ortho" makes the level independent of image size; "backward" as the seed
    radial: str = "normalised"  # "normalised": `bins` rings over 0..Nyquist; "integer": one ring per pixel radius
    bins: int = 64
    log_scale: float = 20.0
    eps: float = 1e-8
    drop_first: bool = True
    drop_last: bool = False
    # "axes": each ring split in two, near the axes (where JPEG blocks and up-sampling grids put their
    # peaks) and off them; features are the on-axis profile followed by the off-axis profile
    angular: str = "all"
    # per ring and sector, also the spread (standard deviation) of the log magnitude: a profile block
    # after the mean profiles of the same scale
    ring_std: bool = False
    # 2: the same profiles (means, and spreads if ring_std) again for the image down-sampled 2× by
    # 2×2 block means, after the full-resolution blocks
    scales: int = 1
    # P > 0: peak features at the grid frequencies (a/P, b/P) cycles/pixel, 0 ≤ a ≤ b ≤ P/2, where
    # up-sampling by 2, 4, ... P leaves periodic peaks (JPEG's 8×8 blocks too, at P = 8): mean log
    # magnitude of the 3×3 bins at the point minus that of its neighbourhood, averaged over the
    # point's mirror images; last in the vector
    grid_peaks: int = 0

    def __post_init__(self):
        checks = [
            (self.gray in GRAY_MODES, f"gray must be one of {GRAY_MODES}"),
            (self.radial in RADIAL_MODES, f"radial must be one of {RADIAL_MODES}"),
            (self.window in WINDOWS, f"window must be one of {WINDOWS}"),
            (self.crop in CROPS, f"crop must be one of {CROPS}"),
            (self.angular in ANGULAR, f"angular must be one of {ANGULAR}"),
            (self.angular == "all" or self.radial == "normalised", f"angular={self.angular!r} needs radial='normalised'"),
            (isinstance(self.name, str), "name must be a string"),
            (isinstance(self.ring_std, bool), "ring_std must be true or false"),
            (isinstance(self.drop_first, bool) and isinstance(self.drop_last, bool),
             "drop_first and drop_last must be true or false"),
            (self.scales in SCALES and _is_int(self.scales), f"scales must be one of {SCALES}"),
            (self.grid_peaks in GRID_PERIODS and _is_int(self.grid_peaks),
             f"grid_peaks must be one of {GRID_PERIODS} (0: none)"),
            ((not self.ring_std and self.scales == 1 and not self.grid_peaks) or self.radial == "normalised",
             "ring_std, scales and grid_peaks need radial='normalised'"),
            (self.fft_norm in ("ortho", "backward"), "fft_norm must be 'ortho' or 'backward'"),
            (_is_int(self.bins) and 4 <= self.bins <= MAX_BINS, f"bins must be an integer from 4 to {MAX_BINS}"),
            (_is_int(self.resize) and (self.resize == 0 or decode.MIN_SIDE <= self.resize <= MAX_SIDE),
             f"resize must be 0 or an integer from {decode.MIN_SIDE} to {MAX_SIDE}"),
            (_is_int(self.max_side) and decode.MIN_SIDE <= self.max_side <= MAX_SIDE,
             f"max_side must be an integer from {decode.MIN_SIDE} to {MAX_SIDE}"),
            (self.radial != "integer" or self.resize > 0, "radial='integer' needs a fixed resize so the length is fixed"),
            (_is_real(self.log_scale) and 0 < self.log_scale <= MAX_LOG_SCALE,
             f"log_scale must be a number in (0, {MAX_LOG_SCALE}]"),
            (_is_real(self.eps) and MIN_EPS <= self.eps <= 1, f"eps must be a number in [{MIN_EPS}, 1]"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"feature config {self.name!r}: {message}")

    def to_dict(self):
        d = asdict(self)
        for k, default in LATER_FIELDS.items():
            if d[k] == default:
                del d[k]
        return d

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"feature config has unknown keys: {', '.join(unknown)}")
        return cls(**d)

    @property
    def n_features(self):
        return len(self.frequencies())

    @property
    def n_sectors(self):
        return SECTORS[self.angular]

    def grid_points(self):
        """(a, b) of each grid-peak feature, in units of 1/grid_peaks cycles/pixel."""
        return _grid_points(self.grid_peaks)

    def layout(self):
        """One (kind, scale, sector) per block of the vector, in order: kind "mean" or "std" blocks
        are ring profiles of len(profile frequencies); a final ("peaks", 1, -1) block has one feature per grid point."""
        blocks = []
        for scale in range(1, self.scales + 1):
            for kind in ("mean", "std") if self.ring_std else ("mean",):
                blocks += [(kind, scale, sector) for sector in range(self.n_sectors)]
        if self.grid_peaks:
            blocks.append(("peaks", 1, -1))
        return blocks

    def profile_mask(self):
        """True for the features that are mean log magnitudes of a ring (not spreads nor grid peaks)."""
        return np.concatenate([np.full(n, kind == "mean") for kind, n in self.block_sizes()])

    def block_sizes(self):
        """(kind, number of features) of each block of layout()."""
        n = len(self.profile_frequencies())
        return [(kind, len(self.grid_points()) if kind == "peaks" else n) for kind, _, _ in self.layout()]

    def profile_frequencies(self):
        """Band centres of one ring profile at full scale, in cycles/pixel."""
        if self.radial == "integer":
            n = _integer_bins(self.resize, self.resize)[1]
            f = np.arange(n) / self.resize
        else:
            f = (np.arange(self.bins) + 0.5) / self.bins * 0.5
        return f[int(self.drop_first): len(f) - int(self.drop_last)]

    def frequencies(self):
        """Centre of each feature's band in cycles/pixel (0.5 = Nyquist) of the image as given, for plots
        and explanations; for a grid peak (a/P, b/P), the larger of the two, b/P (≤ 0.5, as the page's axis)."""
        f = self.profile_frequencies()
        parts = []
        for kind, scale, _ in self.layout():
            if kind == "peaks":
                parts.append(np.array([b / self.grid_peaks for a, b in self.grid_points()]))
            else:
                parts.append(f / scale)
        return np.concatenate(parts)


SEED = FeatureConfig(
    name="seed", gray="mean", resize=1024, crop="none", window="none", fft_norm="backward",
    radial="integer", log_scale=20.0, eps=1e-8, drop_first=True, drop_last=True,
)

# Per-shape tables (ring indices, windows) are reused across a batch; a few shapes at most are kept,
# as each costs megabytes and a batch of odd sizes would otherwise fill wasm32's memory.
SHAPE_CACHE = 4


@lru_cache(maxsize=SHAPE_CACHE)
def _integer_bins(h, w):
    """The seed's rings: integer distance from the point half a pixel before fftshift's DC."""
    y, x = np.indices((h, w))
    r = np.hypot(x - (w - 1) / 2.0, y - (h - 1) / 2.0).astype(np.intp)  # intp: int32 in wasm32
    return r.ravel(), int(r.max()) + 1


@lru_cache(maxsize=SHAPE_CACHE)
def _normalised_bins(h, w, bins, angular="all"):
    """Ring index of every coefficient of _half_spectrum (flat order), the rows of the stored half that
    weigh 1 (flat slices), and the total weight per ring (the same for every image of this shape).

    Half-spectrum rows 1..ceil(w/2)-1 (frequencies along the width) stand for themselves and their
    mirror image, so they weigh 2: the weighted half-plane average equals the full-plane average exactly.
    Row 0 and, for even w, the Nyquist row weigh 1. Frequencies beyond Nyquist along the shorter axis
    (the corners) get the index bins · sectors, a spare ring that no feature reads: the rings are then
    summed over the whole half spectrum in one pass, without first gathering the kept coefficients.
    With angular="axes", off-axis coefficients get ring index + bins (a second profile).
    """
    fx = np.fft.rfftfreq(w)[:, None]
    fy = np.fft.fftfreq(h)[None, :]
    r = 2.0 * np.sqrt(fy * fy + fx * fx)
    idx = np.floor(r * bins).astype(np.intp)
    spare = bins * SECTORS[angular]
    beyond = idx >= bins
    if angular != "all":
        angle = np.degrees(np.arctan2(np.abs(fy), np.abs(fx)))  # 0..90; mirrored coefficients share it
        from_axis = np.minimum(angle, 90.0 - angle)  # 0..45
        sector = (from_axis > AXIS_DEGREES).astype(np.intp)
        if angular == "axes_diag":  # 0: on-axis, 1: between, 2: near a diagonal
            sector += from_axis >= 45.0 - DIAGONAL_DEGREES
        idx = idx + bins * sector
    idx[beyond] = spare
    idx = idx.ravel()
    single = (slice(0, h),) + ((slice((fx.size - 1) * h, fx.size * h),) if w % 2 == 0 else ())
    return idx, single, _ring_sums(np.ones(idx.size), idx, single, spare)


def _ring_sums(values, idx, single, n):
    """Weighted sum of `values` (flat, _half_spectrum order) per ring: every coefficient twice, less once
    for the rows that weigh 1. bincount adds in float64 whatever the values' type."""
    sums = 2.0 * np.bincount(idx, weights=values, minlength=n + 1)[:n]
    for rows in single:
        sums -= np.bincount(idx[rows], weights=values[rows], minlength=n + 1)[:n]
    return sums


@lru_cache(maxsize=SHAPE_CACHE)
def _hann2d(h, w):
    """The separable 2-D Hann window as one array: windowing is then a single multiply."""
    def hann(n):
        return np.hanning(n) if n > 1 else np.ones(n)
    return hann(h)[:, None] * hann(w)[None, :]


def centre_box(size, cfg):
    """The box (left, top, right, bottom) of an image of `size` that the extractor reads (after any resize)."""
    w, h = (cfg.resize, cfg.resize) if cfg.resize else size
    if cfg.crop == "center":
        cw = ch = min(w, h, cfg.max_side)
    else:
        cw, ch = min(w, cfg.max_side), min(h, cfg.max_side)
    left, top = (w - cw) // 2, (h - ch) // 2
    return left, top, left + cw, top + ch


def _prepare(img, cfg):
    """Resize/crop in Pillow (8-bit, cheap) before the float conversion."""
    if cfg.resize and img.size != (cfg.resize, cfg.resize):
        img = img.resize((cfg.resize, cfg.resize), Image.BICUBIC)
    box = centre_box(img.size, cfg)
    return img if box == (0, 0, *img.size) else img.crop(box)


def gray_array(img, cfg):
    """8-bit Pillow image -> gray array as the config asks: uint8 for luma (the window multiply
    converts it to float64 in the same pass), float64 for the RGB mean."""
    arr = np.asarray(img)
    if cfg.gray == "mean" and arr.ndim == 3:
        arr = arr.mean(axis=2)
    return arr


def log_spectrum(gray, cfg):
    """2-D log-magnitude spectrum, fftshift-ed, for pictures; features use the radial profile."""
    f = np.fft.fftshift(np.fft.fft2(_windowed(gray, cfg), norm=cfg.fft_norm))
    return cfg.log_scale * np.log(np.abs(f) + cfg.eps)


def _windowed(gray, cfg):
    """Float64 copy of the gray array, windowed if the config asks."""
    if cfg.window == "hann":
        return np.multiply(gray, _hann2d(*gray.shape), dtype=np.float64)
    return np.asarray(gray, dtype=np.float64)


def radial_profile(gray, cfg):
    """Azimuthal average of the log magnitude spectrum of a 2-D gray array."""
    h, w = gray.shape
    x = _windowed(gray, cfg)
    if cfg.radial == "integer":
        # the seed adds epsilon to the complex spectrum before taking |.|; kept for exactness
        mag = cfg.log_scale * np.log(np.abs(np.fft.fftshift(np.fft.fft2(x, norm=cfg.fft_norm)) + cfg.eps))
        idx, n = _integer_bins(h, w)
        profile = np.bincount(idx, weights=mag.ravel(), minlength=n) / np.bincount(idx, minlength=n)
    else:
        blocks, logpower = _ring_blocks(x, cfg)
        if cfg.scales == 2:
            blocks += _ring_blocks(_windowed(_halved(gray), cfg), cfg)[0]
        if cfg.grid_peaks:
            blocks.append(_grid_peaks(logpower, h, w, cfg))
        return np.concatenate(blocks)
    return profile[int(cfg.drop_first): len(profile) - int(cfg.drop_last)]


def _ring_blocks(x, cfg):
    """Windowed float image -> ([mean profile per sector] + [spread profile per sector], log power of
    its whole half spectrum). Profiles are in the config's units: log_scale · log|f|."""
    h, w = x.shape
    idx, single, counts = _normalised_bins(h, w, cfg.bins, cfg.angular)
    logpower = _log_power(_half_spectrum(x, cfg.fft_norm), cfg.eps)
    mag = logpower.ravel()
    shape = (cfg.n_sectors, cfg.bins)
    sums = _ring_sums(mag, idx, single, counts.size).reshape(shape)
    counts = counts.reshape(shape)
    keep = slice(int(cfg.drop_first), cfg.bins - int(cfg.drop_last))
    means = [_fill_rings(s, c) for s, c in zip(sums, counts)]
    blocks = [m[keep] for m in means]
    if cfg.ring_std:
        squares = _ring_sums(mag.astype(np.float64) ** 2, idx, single, counts.size).reshape(shape)
        for m, sq, c in zip(means, squares, counts):
            var = _fill_rings(sq, c) - m * m
            blocks.append(np.sqrt(np.maximum(var, 0.0))[keep])
    return [b * _units(cfg) for b in blocks], logpower


def _half_spectrum(x, norm):
    """The 2-D DFT of a real image, the half that rfft2 keeps, stored transposed: element [c, r] is
    rfft2(x)[r, c]. The second pass (along the image's columns) then runs over contiguous rows, in
    place: in wasm that saves about an eighth of the FFT and of the log pass that follows."""
    rows = np.fft.rfft(x, axis=1, norm=norm)
    half = np.ascontiguousarray(rows.T)
    del rows
    return np.fft.fft(half, axis=1, norm=norm, out=half)


def _log_power(f, eps):
    """log(|f|² + eps²) of complex coefficients, as float32.

    The logarithm is the pass where wasm trails CPython most (scalar libm against SIMD): in float32
    it costs about 40% less there, and float32 keeps |f| to 7 significant digits, where the features
    average thousands of coefficients. The FFT itself stays float64: its rounding error is relative
    to the largest coefficient and would swamp the faint high frequencies. Squaring instead of
    |f| skips np.abs's hypot (4× slower in wasm) and a square root; eps² keeps the logarithm finite
    where |f| = 0, as eps does in log(|f| + eps)."""
    parts = f.view(np.float64)  # (re, im) pairs, squared in place: one pass
    np.square(parts, out=parts)
    out = np.add(parts[..., 0::2], parts[..., 1::2], dtype=np.float32)
    out += np.float32(eps * eps)
    np.log(out, out=out)
    return out


def _units(cfg):
    """log(|f|² + eps²) · this = log_scale · log|f|: applied to the averages, not to every coefficient."""
    return cfg.log_scale / 2.0


def _halved(gray):
    """2× down-sampling by 2×2 block means (an odd last row or column is dropped)."""
    h, w = gray.shape[0] // 2 * 2, gray.shape[1] // 2 * 2
    g = np.asarray(gray[:h, :w], dtype=np.float64)
    return 0.25 * (g[0::2, 0::2] + g[1::2, 0::2] + g[0::2, 1::2] + g[1::2, 1::2])


PEAK_HALF = 1  # the peak: 3×3 bins (the Hann window spreads a line over ±1 bin)


def _grid_points(period):
    """(a, b) with 0 ≤ a ≤ b ≤ period/2, b > 0: one grid frequency (a/period, b/period) per mirror family."""
    half = period // 2
    return [(a, b) for b in range(1, half + 1) for a in range(b + 1)]


@lru_cache(maxsize=SHAPE_CACHE)
def _grid_tables(h, w, period):
    """Flat _half_spectrum positions of every grid point's peak bins and neighbourhood bins, the feature each
    belongs to, and the bins per feature: ((peak positions, ids, counts), (neighbourhood positions, ids, counts))."""
    radius = max(3, min(h, w) // (4 * period))  # a quarter of the grid spacing: no other grid point inside
    d = np.arange(-radius, radius + 1)
    dr, dc = np.meshgrid(d, d, indexing="ij")
    inner = (np.abs(dr) <= PEAK_HALF) & (np.abs(dc) <= PEAK_HALF)
    wc = w // 2 + 1
    half = period // 2
    points = _grid_points(period)
    peak_pos, peak_id, ring_pos, ring_id = [], [], [], []
    for i, (a, b) in enumerate(points):
        copies = set()
        for ky, kx in ((a, b), (-a, b), (b, a), (-b, a)):
            ky %= period
            # on the column axis and at column Nyquist, a point and its mirror through the origin are
            # the same frequency (ky and -ky), as ky = ±half is on the row axis: one copy each, so
            # the average weighs the copies the same whichever way round the image is
            if kx in (0, half) and ky > half:
                ky = period - ky
            copies.add((ky, kx))
        for ky, kx in sorted(copies):
            r = (int(round(ky * h / period)) + dr) % h
            c = int(round(kx * w / period)) + dc
            # bins outside the stored half plane: |F(r, c)| = |F(-r, -c)|
            mirror = (c < 0) | (c >= wc)
            c = np.where(c < 0, -c, np.where(c >= wc, w - c, c))
            r = np.where(mirror, (-r) % h, r)
            pos = c * h + r
            peak_pos.append(pos[inner])
            peak_id.append(np.full(inner.sum(), i))
            ring_pos.append(pos[~inner])
            ring_id.append(np.full((~inner).sum(), i))
    tables = []
    for pos, ids in ((peak_pos, peak_id), (ring_pos, ring_id)):
        ids = np.concatenate(ids)
        tables.append((np.concatenate(pos), ids, np.bincount(ids, minlength=len(points))))
    return tuple(tables)


def _grid_peaks(logpower, h, w, cfg):
    """Per grid point: mean log magnitude of its peak bins minus that of its neighbourhood.
    logpower: _log_power of the _half_spectrum of the windowed image, h × w: that image's shape."""
    flat = logpower.ravel()
    peak, ring = _grid_tables(h, w, cfg.grid_peaks)

    def mean_log(pos, ids, counts):
        return np.bincount(ids, weights=flat[pos], minlength=len(counts)) / counts

    return (mean_log(*peak) - mean_log(*ring)) * _units(cfg)


def _fill_rings(sums, counts):
    """Mean per ring; small images leave some inner rings empty: interpolate them."""
    filled = counts > 0
    profile = np.empty(len(sums))
    profile[filled] = sums[filled] / counts[filled]
    if not filled.all():
        centres = np.arange(len(sums))
        profile[~filled] = np.interp(centres[~filled], centres[filled], profile[filled])
    return profile


def prepared_gray(img, cfg):
    """Validated 8-bit Pillow image -> the cropped float gray array the spectrum is taken of."""
    return gray_array(_prepare(img, cfg), cfg)


def features_from_image(img, cfg):
    """Validated 8-bit Pillow image -> feature vector."""
    return radial_profile(prepared_gray(img, cfg), cfg)


DETAIL_BAND = (0.12, 0.25)  # cycles/pixel: the fine detail blurring and smoothing take away first...
COARSE_BAND = (0.01, 0.05)  # ...measured against the coarse structure they leave


def fine_detail(features, cfg):
    """The mean log magnitude of the fine-detail rings over that of the coarse ones (the same units as the
    features): low for a blurred, smoothed or out-of-focus picture, whatever its JPEG noise floor does at
    the highest frequencies; one value per row of a matrix of features."""
    f, mean = cfg.frequencies(), cfg.profile_mask()
    fine = mean & (f > DETAIL_BAND[0]) & (f < DETAIL_BAND[1])
    coarse = mean & (f > COARSE_BAND[0]) & (f < COARSE_BAND[1])
    x = np.asarray(features, dtype=np.float64)
    return x[..., fine].mean(axis=-1) - x[..., coarse].mean(axis=-1)


def extract(data, cfg=SEED):
    """Image file bytes -> feature vector (float64, length cfg.n_features). Raises InputError."""
    return extract_with_image(data, cfg)[1]


def extract_with_image(data, cfg=SEED):
    """-> (decoded image, feature vector), for callers that also look at the pixels (the face finder),
    so a file is decoded once. Raises InputError."""
    img = decode.load(data, gray=cfg.gray)
    feats = features_from_image(img, cfg)
    if not np.all(np.isfinite(feats)):
        raise InputError("image gives a non-finite spectrum (is it blank?)")
    return img, feats
