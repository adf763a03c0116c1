"""Rebuild ``resources/sample/vs_seg_001_t1_iac.nii.gz`` from ``../shared/data``.

The bundled sample is a slab of the TCIA Vestibular-Schwannoma-SEG patient VS-SEG-001
contrast-enhanced T1 (``../shared/data/dicom/vs-seg-001-t1``: 120 axial slices of
512x512, 0.41 x 0.41 x 1.5 mm).  The whole series is 38 MB as gzipped int16 NIfTI,
over the 10 MB budget for files in the repository, so the sample keeps every pixel of
the 26 slices around the internal auditory canals (where the tumour is) and nothing
else: no cropping, resampling or rescaling; the voxels are the stored 12-bit values.

The affine follows the DICOM geometry exactly (LPS from ImageOrientationPatient /
ImagePositionPatient / PixelSpacing, flipped to NIfTI's RAS+); voxel axes are
(column, row, slice) as dcm2niix writes them before its own reorientation.

Run from the repository root:  ``.venv/bin/python resources/sample/make_sample.py``
"""

from __future__ import annotations

import argparse
import gzip
import os
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom

HERE = Path(__file__).resolve().parent
SERIES = HERE.parent.parent.parent / "shared" / "data" / "dicom" / "vs-seg-001-t1"
OUT = HERE / "vs_seg_001_t1_iac.nii.gz"
#: Slices (0-based, inferior to superior) kept: the internal auditory canals and the tumour.
FIRST, COUNT = 19, 26


def read_series(folder: Path):
    datasets = [pydicom.dcmread(p) for p in sorted(folder.glob("*.dcm"))]
    row_cos = np.array(datasets[0].ImageOrientationPatient[:3], dtype=np.float64)
    col_cos = np.array(datasets[0].ImageOrientationPatient[3:], dtype=np.float64)
    normal = np.cross(row_cos, col_cos)
    datasets.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, dtype=np.float64))))
    return datasets, row_cos, col_cos, normal


def lps_affine(datasets, row_cos, col_cos, normal) -> np.ndarray:
    """Voxel (column, row, slice) -> RAS+ mm."""
    row_mm, col_mm = (float(v) for v in datasets[0].PixelSpacing)  # between rows, between columns
    p0 = np.array(datasets[0].ImagePositionPatient, dtype=np.float64)
    p1 = np.array(datasets[1].ImagePositionPatient, dtype=np.float64)
    step = float(np.dot(p1 - p0, normal))
    lps = np.eye(4)
    lps[:3, 0] = row_cos * col_mm  # along a row = increasing column index
    lps[:3, 1] = col_cos * row_mm
    lps[:3, 2] = normal * step
    lps[:3, 3] = p0
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def main(argv=None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=Path, default=SERIES)
    ap.add_argument("--first", type=int, default=FIRST)
    ap.add_argument("--count", type=int, default=COUNT, help="slices to keep (120 = the whole series, ~38 MB)")
    ap.add_argument("-o", "--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    datasets, row_cos, col_cos, normal = read_series(args.series)
    keep = datasets[args.first : args.first + args.count]
    affine = lps_affine(datasets, row_cos, col_cos, normal)
    affine[:3, 3] = affine[:3, :3] @ np.array([0.0, 0.0, float(args.first)]) + affine[:3, 3]
    # (slice, row, col) -> (col, row, slice)
    voxels = np.stack([d.pixel_array for d in keep]).astype(np.int16).transpose(2, 1, 0)
    img = nib.Nifti1Image(voxels, affine)
    img.header.set_xyzt_units("mm")
    img.header.set_qform(affine, code=1)
    img.header.set_sform(affine, code=1)
    ref = keep[0]
    img.header["descrip"] = f"VS-SEG-001 {ref.SeriesDescription} slices {args.first}-{args.first + len(keep) - 1}"[:79].encode()
    wc, ww = float(ref.WindowCenter), float(ref.WindowWidth)
    img.header["cal_min"], img.header["cal_max"] = wc - ww / 2, wc + ww / 2

    # gzip level 9 (nibabel's default is 1) and an atomic write
    raw = img.to_bytes()
    fd, tmp = tempfile.mkstemp(dir=args.out.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(gzip.compress(raw, compresslevel=9, mtime=0))
        os.chmod(tmp, 0o644)
        os.replace(tmp, args.out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"{args.out}: {voxels.shape} int16, {args.out.stat().st_size / 1e6:.2f} MB")
    return args.out


if __name__ == "__main__":
    main()
