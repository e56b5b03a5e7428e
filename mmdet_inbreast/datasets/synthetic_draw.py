"""The drawing of the synthetic releases: tissue, masses and the DICOM.

Both synthetic writers (:mod:`.synthetic` for INbreast,
:mod:`.synthetic_vindr` for VinDr-Mammo) draw with these: breast tissue
against one side edge (:func:`tissue`), lobulated masses whose sizes follow
the real distribution of the 116 INbreast mass boxes (log sqrt(w h) ~
N(5.61, 0.60), log(h / w) ~ N(-0.03, 0.23); widths 73-977 px, median 281 px
at full size) placed where they fit (:func:`place_lesion`), and a 16-bit
DX mammogram file (:func:`write_dicom`). Every draw comes from the
caller's generator, so the same seed gives the same bytes.
"""
from __future__ import annotations

import numpy as np

#: Statistics of the real mass boxes (full-size pixels), see module docstring.
LOG_SIZE_MEAN, LOG_SIZE_STD = 5.61, 0.60
LOG_ASPECT_MEAN, LOG_ASPECT_STD = -0.03, 0.23
MIN_SIZE_PX, MAX_SIZE_PX = 73.0, 985.0
#: Mean and std of non-zero pixels the tissue is drawn with (the seed
#: thesis' training-set figures, 14-bit values).
TISSUE_MEAN, TISSUE_STD = 1449.49, 221.67


def uid(seed: int, *parts) -> str:
    from pydicom.uid import generate_uid
    return generate_uid(entropy_srcs=[str(seed)] + [str(p) for p in parts])


def texture(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Smooth unit-variance noise of shape (h, w), float32: coarse noise
    blurred and bilinearly upsampled (cheap at full size)."""
    from scipy import ndimage
    gh, gw = max(2, h // cell + 2), max(2, w // cell + 2)
    coarse = ndimage.gaussian_filter(rng.standard_normal((gh, gw)), 1.0)
    coarse = (coarse - coarse.mean()) / (coarse.std() + 1e-9)
    up = ndimage.zoom(coarse.astype(np.float32), (h / gh, w / gw), order=1)
    return up[:h, :w]


def breast_extent(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Per row, how far (pixels) the breast reaches from the chest-wall edge."""
    depth = rng.uniform(0.55, 0.8) * w
    cy = rng.uniform(0.45, 0.55) * h
    half = rng.uniform(0.42, 0.5) * h
    y = np.arange(h, dtype=np.float32)
    t = np.clip(1 - ((y - cy) / half)**2, 0, None)
    return (depth * np.sqrt(t)).astype(np.float32)


def mass_polygon(rng: np.random.Generator, cx: float, cy: float, bw: float,
                 bh: float) -> tuple[np.ndarray, np.ndarray]:
    """A lobulated closed contour (N, 2) in pixels and its harmonic
    parameters (for rasterising the same shape)."""
    k = np.arange(2, 6)
    amp = rng.uniform(0.0, 0.08, size=k.size)
    phase = rng.uniform(0, 2 * np.pi, size=k.size)
    n = int(np.clip(np.sqrt(bw * bh) / 4, 24, 160))
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = 1 + (amp[:, None] * np.cos(k[:, None] * theta + phase[:, None])).sum(0)
    pts = np.stack([cx + bw / 2 * r * np.cos(theta),
                    cy + bh / 2 * r * np.sin(theta)], axis=1)
    return pts, np.stack([k, amp, phase])


def draw_mass(img: np.ndarray, pts: np.ndarray, harm: np.ndarray, cx: float,
              cy: float, bw: float, bh: float, contrast: float) -> None:
    """Add a bright blob bounded by the contour of :func:`mass_polygon`."""
    h, w = img.shape
    x1, y1 = np.floor(pts.min(0)).astype(int)
    x2, y2 = np.ceil(pts.max(0)).astype(int)
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2 + 1, w), min(y2 + 1, h)
    yy, xx = np.mgrid[y1:y2, x1:x2].astype(np.float32)
    dx, dy = (xx + 0.5 - cx) / (bw / 2), (yy + 0.5 - cy) / (bh / 2)
    rho = np.hypot(dx, dy)
    theta = np.arctan2(dy, dx)
    k, amp, phase = harm
    r = 1 + (amp[:, None, None] * np.cos(k[:, None, None] * theta
                                          + phase[:, None, None])).sum(0)
    u = np.clip(1 - (rho / r)**2, 0, None)
    img[y1:y2, x1:x2] += contrast * np.sqrt(u)


def write_dicom(path: str, pixels: np.ndarray, seed: int, sop_key: str,
                study_uid: str, series_uid: str, bits_stored: int,
                **elements) -> None:
    """Write a 16-bit single-frame DX mammogram (explicit VR little
    endian, uncompressed).

    Args:
        path (str): The file written.
        pixels (np.ndarray): (H, W) stored values.
        seed (int): Seed of the UIDs.
        sop_key (str): Key of the SOP instance UID.
        study_uid, series_uid (str): The study and series UIDs.
        bits_stored (int): BitsStored (HighBit is one less).
        **elements: Further data elements by keyword (``Manufacturer``,
            ``PhotometricInterpretation``, ...).
    """
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.1.2'  # DX mammo
    meta.MediaStorageSOPInstanceUID = uid(seed, sop_key, 'sop')
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = uid(0, 'mmdet_inbreast')
    ds = FileDataset(path, {}, file_meta=meta, preamble=b'\0' * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.Modality = 'MG'
    ds.SamplesPerPixel = 1
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.RescaleSlope = 1
    ds.RescaleIntercept = 0
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    ds.PixelData = np.ascontiguousarray(pixels, dtype='<u2').tobytes()
    ds.save_as(path, enforce_file_format=True)


def tissue(rng: np.random.Generator, h: int, w: int, side: str,
            scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Breast tissue: brighter near the chest wall, smooth texture, darker
    skin line, noise.

    Args:
        rng (np.random.Generator): The release's generator.
        h, w (int): Image size.
        side (str): ``'L'`` or ``'R'`` (where the chest wall is).
        scale (float): Image scale (texture cell size).

    Returns:
        tuple: float32 (h, w) image, bool (h, w) breast mask, and the
        breast's extent from the chest wall, per row.
    """
    extent = breast_extent(rng, h, w)
    x = np.arange(w, dtype=np.float32)
    dist = x[None, :] if side == 'R' else (w - 1 - x)[None, :]
    inside = dist < extent[:, None]
    rel = np.clip(dist / np.maximum(extent[:, None], 1), 0, 1)
    cell = max(4, int(round(96 * scale)))
    img = (TISSUE_MEAN + 120 - 240 * rel**2
           + 0.75 * TISSUE_STD * texture(rng, h, w, cell)).astype(np.float32)
    img += rng.normal(0, 25, size=(h, w)).astype(np.float32)
    return img, inside, extent


def place_lesion(rng: np.random.Generator, img: np.ndarray,
                  extent: np.ndarray, side: str, scale: float,
                  taken: list, contrast: float, size_factor: float = 1.0,
                  max_fraction: float = 0.6, decimals: int | None = None):
    """Draw one mass-like lesion inside the breast, clear of ``taken``.

    Args:
        rng (np.random.Generator): The release's generator.
        img (np.ndarray): float32 (h, w) image, drawn on in place.
        extent (np.ndarray): Breast extent per row (from :func:`tissue`).
        side (str): ``'L'`` or ``'R'``.
        scale (float): Image scale.
        taken (list): Boxes it must not overlap.
        contrast (float): Peak brightness over the tissue (times 0.8-1.2).
        size_factor (float): Multiplies the drawn size. Defaults to 1.0.
        max_fraction (float): Largest box side, as a fraction of the image
            side. Defaults to 0.6.
        decimals (int, optional): Round the box to this many decimals.

    Returns:
        tuple | None: (polygon points, [x1, y1, x2, y2]), or None when 50
        tries found no room.
    """
    h, w = img.shape
    for _attempt in range(50):
        size = np.exp(rng.normal(LOG_SIZE_MEAN, LOG_SIZE_STD))
        size = np.clip(size, MIN_SIZE_PX, MAX_SIZE_PX) * scale * size_factor
        aspect = np.exp(rng.normal(LOG_ASPECT_MEAN, LOG_ASPECT_STD))
        bw, bh = size / np.sqrt(aspect), size * np.sqrt(aspect)
        bw, bh = min(bw, max_fraction * w), min(bh, max_fraction * h)
        cy = rng.uniform(bh * 0.6, h - bh * 0.6)
        reach = extent[int(cy)]
        if reach < bw * 1.4:
            continue
        d = rng.uniform(bw * 0.6, reach - bw * 0.6)
        cx = d if side == 'R' else w - 1 - d
        pts, harm = mass_polygon(rng, cx, cy, bw, bh)
        if (pts.min() < 0 or pts[:, 0].max() > w - 1
                or pts[:, 1].max() > h - 1):
            continue
        box = [float(pts[:, 0].min()), float(pts[:, 1].min()),
               float(pts[:, 0].max()), float(pts[:, 1].max())]
        if decimals is not None:
            box = [round(v, decimals) for v in box]
        if any(overlap(box, b) for b in taken):
            continue
        draw_mass(img, pts, harm, cx, cy, bw, bh,
                   contrast * rng.uniform(0.8, 1.2))
        return pts, box
    return None


def overlap(a: list, b: list) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])
