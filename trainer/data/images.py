"""2D images for pretraining: folders of PNG/JPEG/TIFF, and scikit-image's photographs
(our offline stand-in for DIV2K: they ship inside the package, no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .scans import TrainingDataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

#: Natural photographs and micrographs in ``skimage/data`` (no drawings, binary
#: masks, motion-blurred or synthetic images: those teach the wrong prior).
SKIMAGE_PHOTOS = (
    "astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png", "coffee.png",
    "coins.png", "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png",
    "microaneurysms.png", "moon.png", "motorcycle_left.png", "motorcycle_right.png",
    "page.png", "retina.jpg", "rocket.jpg", "text.png",
)


def to_gray(img: np.ndarray) -> np.ndarray:
    """Luminance (ITU-R BT.601, as the paper's Y channel) as float32; alpha dropped."""
    a = np.asarray(img)
    if a.ndim == 3:
        a = a[..., :3].astype(np.float32)
        if a.shape[-1] == 3:
            a = a @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        else:
            a = a[..., 0]
    return np.ascontiguousarray(a, dtype=np.float32)


def read_image(path) -> np.ndarray:
    import skimage.io

    path = Path(path)
    try:
        img = skimage.io.imread(str(path))
    except Exception as e:  # noqa: BLE001  (imageio raises many kinds)
        raise TrainingDataError(path, f"cannot read image ({e})") from None
    if img.ndim == 4:  # multi-page TIFF: first page
        img = img[0]
    return to_gray(img)


def image_files(folder) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise TrainingDataError(folder, "not a folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise TrainingDataError(folder, f"no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def skimage_photo_files() -> list[Path]:
    """The photographs of :data:`SKIMAGE_PHOTOS` present in this scikit-image install."""
    import skimage.data

    root = Path(skimage.data.__file__).parent
    files = [root / n for n in SKIMAGE_PHOTOS if (root / n).is_file()]
    if not files:
        raise TrainingDataError(root, "scikit-image ships none of its photographs here")
    return files
