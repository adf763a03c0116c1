"""Small synthetic DICOM files for the reader tests (written into tmp_path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def _ds(rows: int, cols: int, *, sop_class=MRImageStorage, syntax=ExplicitVRLittleEndian, series_uid=None, **kw) -> Dataset:
    uid = generate_uid()
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = sop_class
    fm.MediaStorageSOPInstanceUID = uid
    fm.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = fm
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = uid
    ds.StudyInstanceUID = kw.pop("study_uid", "1.2.826.0.1.3680043.8.498.1")
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.FrameOfReferenceUID = kw.pop("frame_of_reference_uid", "1.2.826.0.1.3680043.8.498.2")
    ds.PatientName = kw.pop("patient_name", "Test^Patient")
    ds.PatientID = kw.pop("patient_id", "PID-001")
    ds.StudyDate = "20240102"
    ds.Modality = kw.pop("modality", "MR")
    ds.SeriesDescription = kw.pop("description", "synthetic")
    ds.SeriesNumber = kw.pop("series_number", 1)
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    return ds


def write_slice(
    path: Path,
    pixels: np.ndarray,
    *,
    position=(0.0, 0.0, 0.0),
    orientation=AXIAL,
    spacing=(1.0, 1.0),
    series_uid: str,
    instance: int = 1,
    slope: float | None = None,
    intercept: float | None = None,
    window: tuple[float, float] | None = None,
    echo: int | None = None,
    acquisition: int | None = None,
    thickness: float | None = None,
    **kw,
) -> Path:
    """One classic single-frame image; ``pixels`` is (rows, columns) int16."""
    pixels = np.asarray(pixels, dtype=np.int16)
    ds = _ds(*pixels.shape, series_uid=series_uid, **kw)
    ds.InstanceNumber = instance
    if position is not None:
        ds.ImagePositionPatient = [float(v) for v in position]
    if orientation is not None:
        ds.ImageOrientationPatient = [float(v) for v in orientation]
    if spacing is not None:
        ds.PixelSpacing = [float(v) for v in spacing]
    if thickness is not None:
        ds.SliceThickness = thickness
    if slope is not None:
        ds.RescaleSlope = slope
        ds.RescaleIntercept = intercept or 0.0
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    if echo is not None:
        ds.EchoNumbers = echo
    if acquisition is not None:
        ds.AcquisitionNumber = acquisition
    ds.PixelData = np.ascontiguousarray(pixels).astype("<i2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return Path(path)


def write_series(
    folder: Path,
    volume: np.ndarray,
    *,
    spacing=(0.8, 0.7),
    gap: float = 2.0,
    origin=(-10.0, -20.0, 30.0),
    orientation=AXIAL,
    series_uid: str | None = None,
    shuffle: bool = True,
    prefix: str = "im",
    **kw,
) -> tuple[list[Path], str]:
    """A classic series from ``volume`` (K, rows, columns); slice k sits at origin + k*gap*normal.

    Files are named in a shuffled order so the reader must sort by position.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    o = np.asarray(orientation, dtype=float)
    normal = np.cross(o[:3], o[3:])
    order = np.random.default_rng(3).permutation(len(volume)) if shuffle else np.arange(len(volume))
    paths = []
    for n, k in enumerate(order):
        p = folder / f"{prefix}{n:04d}.dcm"
        write_slice(
            p,
            volume[k],
            position=np.asarray(origin) + k * gap * normal,
            orientation=orientation,
            spacing=spacing,
            series_uid=series_uid,
            instance=int(k) + 1,
            **kw,
        )
        paths.append(p)
    return paths, series_uid


def _item(**attrs) -> Dataset:
    d = Dataset()
    for k, v in attrs.items():
        setattr(d, k, v)
    return d


def write_enhanced(
    path: Path,
    frames: np.ndarray,
    positions: list,
    *,
    orientation=AXIAL,
    spacing=(1.0, 1.0),
    slopes=None,
    frame_types=None,
    series_uid: str | None = None,
    thickness: float = 2.0,
) -> Path:
    """An enhanced MR multi-frame file: (n, rows, columns) int16 frames, per-frame geometry."""
    frames = np.asarray(frames, dtype=np.int16)
    n, rows, cols = frames.shape
    ds = _ds(rows, cols, sop_class=ENHANCED_MR, series_uid=series_uid)
    ds.NumberOfFrames = n
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
    shared = _item(
        PixelMeasuresSequence=Sequence([_item(PixelSpacing=[float(v) for v in spacing], SliceThickness=thickness)]),
        PlaneOrientationSequence=Sequence([_item(ImageOrientationPatient=[float(v) for v in orientation])]),
    )
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    per = []
    for f in range(n):
        item = _item(PlanePositionSequence=Sequence([_item(ImagePositionPatient=[float(v) for v in positions[f]])]))
        item.FrameContentSequence = Sequence([_item(InStackPositionNumber=f + 1)])
        if slopes is not None:
            item.PixelValueTransformationSequence = Sequence(
                [_item(RescaleSlope=slopes[f], RescaleIntercept=0.0, RescaleType="US")]
            )
        if frame_types is not None:
            item.MRImageFrameTypeSequence = Sequence([_item(FrameType=["ORIGINAL", "PRIMARY", "M", frame_types[f]])])
        per.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per)
    ds.PixelData = np.ascontiguousarray(frames).astype("<i2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return Path(path)
