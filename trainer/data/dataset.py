"""Sources -> 128x128 crops -> seeded (LR, HR) minibatches.

Every minibatch is a pure function of (seed, step): its scale, which crops, where
the patches sit and how they are flipped.  A resumed run therefore sees exactly the
batches it would have seen, and DDP ranks cut the same global batch into shards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from engine.acquisition import acquire
from engine.io import plane_slices

from .crops import augment, max_info_crop, random_patch, tiles, unit_range
from .images import image_files, read_image, skimage_photo_files
from .degrade import DegradationMix, make_lr
from .scales import TRAIN_SCALES, ScaleSampler, exact_patch, is_pair
from .scans import TrainingDataError, brats_files, read_volume

CROP = 128


def parse_keep(keep: str | None) -> slice | None:
    """``"0:-20"`` -> ``slice(0, -20)``: which slices along the plane to use;
    ``"20:-20:6"`` takes every sixth (a held-out volume scored on fewer slices)."""
    if keep in (None, "", ":"):
        return None
    parts = [int(p) if p.strip() else None for p in str(keep).split(":")]
    if len(parts) not in (2, 3):
        raise ValueError(f"keep must look like 'start:stop' or 'start:stop:step', got {keep!r}")
    return slice(*parts)


@dataclass(frozen=True)
class Source:
    """One entry of ``[[data.train]]`` / ``[[data.test]]`` in the config.

    kind: ``nifti`` (a file), ``dicom`` (a series folder), ``brats`` (a folder of
    cases; ``modality`` picks the file), ``images`` (a folder of PNG/JPEG/TIFF),
    ``skimage`` (scikit-image's photographs; no path).
    """

    kind: str
    path: str = ""
    plane: str = "axial"
    keep: str | None = None
    modality: str = "t1ce"
    crop: str = "max_info"  # or "tiles" (photographs)
    group: str = ""  # held-out sources with one group are scored together (eval --degradations)

    @classmethod
    def from_dict(cls, d: dict) -> "Source":
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown data source keys {sorted(unknown)}")
        return cls(**d)

    def describe(self) -> str:
        where = self.path or "skimage.data"
        extra = f" {self.plane}" if self.kind in ("nifti", "dicom", "brats") else ""
        return f"{self.kind}:{where}{extra}" + (f" [{self.keep}]" if self.keep else "")


def _slices(src: Source, root: Path) -> list[np.ndarray]:
    path = (root / src.path) if src.path else root
    keep = parse_keep(src.keep)
    if src.kind in ("nifti", "dicom"):
        return plane_slices(read_volume(path), src.plane, keep)
    if src.kind == "brats":
        out = []
        for f in brats_files(path, src.modality):
            out += plane_slices(read_volume(f), src.plane, keep)
        return out
    if src.kind == "images":
        files = image_files(path)
    elif src.kind == "skimage":
        files = skimage_photo_files()
    else:
        raise ValueError(f"unknown data source kind {src.kind!r}")
    files = files[keep] if keep else files
    return [read_image(f) for f in files]


@dataclass
class Crops:
    """Unit-range 128x128 crops and where they came from."""

    images: list[np.ndarray] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    def stats(self) -> tuple[float, float]:
        """Mean and std over all crop pixels (the paper's normalisation)."""
        if not self.images:
            raise TrainingDataError(None, "no crops to compute statistics on")
        a = np.stack(self.images).astype(np.float64)
        return float(a.mean()), float(a.std())


def load_crops(sources, root=".", size: int = CROP, min_foreground: float = 0.1) -> Crops:
    """Every usable crop of every source: the maximal informational crop per slice
    (slices whose best crop is less than ``min_foreground`` foreground are skipped:
    empty slices above the head teach nothing), or tiles for photographs."""
    root = Path(root)
    out = Crops()
    for src in sources:
        src = src if isinstance(src, Source) else Source.from_dict(src)
        n0 = len(out)
        for i, sl in enumerate(_slices(src, root)):
            if min(sl.shape) < size:
                continue
            unit = unit_range(sl)
            if src.crop == "tiles":
                for t, c in enumerate(tiles(unit, size)):
                    out.images.append(c)
                    out.names.append(f"{src.describe()}#{i}.{t}")
            else:
                c, fg = max_info_crop(unit, size)
                if fg >= min_foreground:
                    out.images.append(c)
                    out.names.append(f"{src.describe()}#{i}")
        if len(out) == n0:
            raise TrainingDataError(src.path or None, f"source {src.describe()} gave no usable {size}x{size} crops")
    return out


class PatchBatches:
    """Minibatches of (LR, HR) patches, one scale each, from unit-range crops.

    An epoch visits every crop ``patches_per_image`` times (16 in the paper) in a
    seeded order; the patch position and flip/rotation are drawn per item.
    ``lr`` is normalised for the network, ``(unit - mean) / std``; ``hr`` stays in
    unit range (losses and metrics are computed there).
    """

    def __init__(self, crops: Crops, *, batch: int = 8, mean: float, std: float, scales=TRAIN_SCALES,
                 patches_per_image: int = 16, max_hr: int = 96, seed: int = 0, augment: bool = True,
                 anisotropic: float = 0.0, degradations: DegradationMix | None = None):
        if len(crops) == 0:
            raise TrainingDataError(None, "no training crops")
        self.crops, self.batch = crops, int(batch)
        self.mean, self.std = float(mean), float(std)
        self.sampler = ScaleSampler(scales, seed, anisotropic)
        self.ppi, self.max_hr, self.seed, self.augment = int(patches_per_image), int(max_hr), int(seed), augment
        self.items_per_epoch = len(crops) * self.ppi
        self._perm_cache: dict[int, np.ndarray] = {}
        self.degradations = None if degradations is None or degradations.is_paper else degradations

    def _order(self, epoch: int) -> np.ndarray:
        if epoch not in self._perm_cache:
            rng = np.random.default_rng([self.seed, epoch, 0xE9])
            self._perm_cache = {epoch: rng.permutation(self.items_per_epoch) % len(self.crops)}
        return self._perm_cache[epoch]

    def sizes(self, step: int):
        """``(scale, (m_y, m_x), (n_y, n_x))``: LR and HR patch sizes of minibatch ``step``."""
        r = self.sampler(step)
        m, n = exact_patch(r, self.max_hr)
        return r, m, n

    def batch_at(self, step: int, rank: int = 0, world: int = 1):
        """``(lr, hr, scale)`` of global minibatch ``step``, rank ``rank``'s shard
        (contiguous, so the global batch is the same for any world size)."""
        if self.batch % world:
            raise ValueError(f"minibatch {self.batch} does not split over {world} processes")
        r, m, n = self.sizes(step)
        per = self.batch // world
        lrs, hrs = [], []
        for k in range(rank * per, (rank + 1) * per):
            g = step * self.batch + k
            crop = self.crops.images[self._order(g // self.items_per_epoch)[g % self.items_per_epoch]]
            rng = np.random.default_rng([self.seed, step, k, 0xBA7C4])
            if is_pair(r):
                # a rectangular patch: codes that rotate by 90 degrees swap its axes, so
                # cut it transposed first and the augmented patch has the pair's shape
                code = int(rng.integers(8)) if self.augment else 0
                hr = augment(random_patch(crop, n[::-1] if code % 2 else n, rng), code)
            else:  # square: the draws in the order runs before pairs made them
                hr = random_patch(crop, n, rng)
                if self.augment:
                    hr = augment(hr, int(rng.integers(8)))
            if self.degradations is None:
                lr = make_lr(hr, m, r)
            else:  # its own generator: the patch draws above stay those of older runs
                drng = np.random.default_rng([self.seed, step, k, 0xDE6])
                # engine.acquisition for every kind, bicubic too (the same operator as
                # make_lr as a matrix product: numpy, no parallel kernel launch per patch)
                lr = acquire(hr, m, self.degradations.draw(drng), drng)
            lrs.append((lr - self.mean) / self.std)
            hrs.append(hr)
        lr_t = torch.from_numpy(np.stack(lrs)[:, None].astype(np.float32))
        hr_t = torch.from_numpy(np.stack(hrs)[:, None].astype(np.float32))
        return lr_t, hr_t, r
