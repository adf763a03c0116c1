"""Fixtures for export tests: tiny DICOM series (written with pydicom from its own
MR_small.dcm, stuffed with identifying values), tiny NIfTI volumes, a small random
Meta-SRGAN saved as a real weights file."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.export.dicom_geometry import affine_from_planes, plane_from_header
from engine.io.sources import DicomSource, NiftiSource
from engine.io.volume import SeriesMeta, Volume, WindowPreset

#: Identifying values planted in the synthetic source; none may survive de-identification.
IDENTIFYING = {
    "PatientName": "Doe^Jane^Quincy",
    "PatientID": "PID-778899",
    "PatientBirthDate": "19700102",
    "PatientAddress": "12 Secret Lane, Springfield",
    "OtherPatientIDs": "OPID-112233",
    "InstitutionName": "St Elsewhere General Hospital",
    "InstitutionAddress": "1 Hospital Road",
    "StationName": "MRSTATION7",
    "DeviceSerialNumber": "SN-443322",
    "StudyDescription": "Brain follow-up for Jane",
    "SeriesDescription": "t1 series of Jane",
    "OperatorsName": "Tech^Tom",
    "ReferringPhysicianName": "Ref^Rita",
    "PerformingPhysicianName": "Perf^Paul",
    "AccessionNumber": "ACC556677",
    "StudyID": "STUDY991",
    "StudyDate": "20240229",
    "SeriesDate": "20240228",
    "AcquisitionDate": "20240227",
    "ContentDate": "20240226",
    "StudyTime": "101112",
    "ImageComments": "patient was anxious",
    "ProtocolName": "protocol of Dr Who",
}
PRIVATE_VALUE = "PRIVATE-PAYLOAD-4711"


def dciodvfy(path: Path) -> tuple[list[str], list[str]]:
    """(errors, warnings) dciodvfy reports for a file; skips when dciodvfy is absent."""
    exe = shutil.which("dciodvfy")
    if exe is None:
        pytest.skip("dciodvfy (Debian package dicom3tools) is not installed; `make system-deps` installs it")
    out = subprocess.run([exe, "-new", str(path)], capture_output=True, text=True, timeout=60)
    lines = (out.stdout + out.stderr).splitlines()
    return [l for l in lines if l.startswith("Error")], [l for l in lines if l.startswith("Warning")]


def _mr_small():
    import pydicom
    from pydicom.data import get_testdata_file

    return pydicom.dcmread(get_testdata_file("MR_small.dcm", download=False))


def write_dicom_series(folder: Path, n_slices=3, rows=20, cols=24, iop=(1, 0, 0, 0, 1, 0), spacing=(0.8, 0.7),
                       slice_step=1.5, seed=0, slope=None) -> list[Path]:
    """A small MR series (one file per slice) with identifying values and a private tag."""
    from pydicom.uid import generate_uid

    rng = np.random.default_rng(seed)
    base = _mr_small()
    for kw, v in IDENTIFYING.items():
        setattr(base, kw, v)
    block = base.private_block(0x0029, "SECRET CORP", create=True)
    block.add_new(0x10, "LO", PRIVATE_VALUE)
    base.StudyInstanceUID = generate_uid()
    base.SeriesInstanceUID = generate_uid()
    base.FrameOfReferenceUID = generate_uid()
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    item = Dataset()
    item.ReferencedSOPClassUID = base.SOPClassUID
    item.ReferencedSOPInstanceUID = generate_uid()
    base.ReferencedImageSequence = Sequence([item])
    row, col = np.array(iop[:3], float), np.array(iop[3:], float)
    normal = np.cross(row, col)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n_slices):
        ds = copy.deepcopy(base)
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = k + 1
        ds.Rows, ds.Columns = rows, cols
        ds.PixelSpacing = [str(spacing[0]), str(spacing[1])]
        ds.ImageOrientationPatient = [str(v) for v in iop]
        ds.ImagePositionPatient = [f"{v:.6f}" for v in (np.array([-10.0, -20.0, 5.0]) + k * slice_step * normal)]
        ds.SliceLocation = str(k * slice_step)
        ds.PixelRepresentation = 0
        ds.BitsStored = 12
        ds.HighBit = 11
        for kw in ("SmallestImagePixelValue", "LargestImagePixelValue"):
            if kw in ds:
                delattr(ds, kw)
        if slope is not None:
            ds.RescaleSlope, ds.RescaleIntercept = str(slope[0]), str(slope[1])
        img = rng.integers(100, 3000, size=(rows, cols)).astype(np.uint16)
        img[rows // 3 : rows // 2, cols // 4 : cols // 2] = 3500
        ds.PixelData = img.tobytes()
        p = folder / f"IM{k:04d}.dcm"
        ds.save_as(p, enforce_file_format=True)
        paths.append(p)
    return paths


def volume_from_dicom(paths: list[Path], flip_j: bool = False) -> Volume:
    """A Volume built as a reader would (columns along i, rows along j, images along k)."""
    import pydicom

    dss = [pydicom.dcmread(p) for p in paths]
    slope = float(getattr(dss[0], "RescaleSlope", 1) or 1)
    inter = float(getattr(dss[0], "RescaleIntercept", 0) or 0)
    vox = np.stack([d.pixel_array.astype(np.float32).T * slope + inter for d in dss], axis=2)
    affine = affine_from_planes([plane_from_header(d) for d in dss])
    if flip_j:  # a reader that stores rows bottom-up: same world, other voxel order
        vox = vox[:, ::-1, :]
        f = np.eye(4)
        f[1, 1], f[1, 3] = -1, vox.shape[1] - 1
        affine = affine @ f
    headers = []
    for d in dss:
        h = copy.deepcopy(d)
        del h.PixelData
        headers.append(h)
    d0 = dss[0]
    meta = SeriesMeta(
        description=str(d0.SeriesDescription),
        modality="MR",
        windows=[WindowPreset("header", float(d0.WindowCenter), float(d0.WindowWidth))],
        patient_name=str(d0.PatientName),
        patient_id=str(d0.PatientID),
        study_uid=str(d0.StudyInstanceUID),
        series_uid=str(d0.SeriesInstanceUID),
        frame_of_reference_uid=str(d0.FrameOfReferenceUID),
        study_date=str(d0.StudyDate),
        dicom=DicomSource(headers=tuple(headers)),
    )
    return Volume(np.asfortranarray(vox), affine, meta, list(paths), "dicom")


@pytest.fixture
def dicom_series(tmp_path):
    paths = write_dicom_series(tmp_path / "src")
    return paths, volume_from_dicom(paths)


def make_nifti(path: Path, shape=(24, 20, 3), seed=0, affine=None) -> Volume:
    """A float NIfTI with an oblique affine, written with nibabel; returns its Volume."""
    import nibabel as nib

    rng = np.random.default_rng(seed)
    data = rng.normal(100, 20, size=shape).astype(np.float32)
    if affine is None:
        c, s = np.cos(0.3), np.sin(0.3)
        rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        affine = np.eye(4)
        affine[:3, :3] = rot @ np.diag([0.9, 1.1, 2.5])
        affine[:3, 3] = [-40.3, 12.7, -8.1]
    img = nib.Nifti1Image(data, affine)
    img.header.set_sform(affine, code=4)
    img.header.set_qform(affine, code=1)
    nib.save(img, str(path))
    hdr = nib.load(str(path)).header
    meta = SeriesMeta(description="test", nifti=NiftiSource(hdr.copy(), sform_code=4, qform_code=1))
    return Volume(np.asfortranarray(data), np.asarray(img.affine, float), meta, [path], "nifti")


@pytest.fixture
def nifti_volume(tmp_path):
    return make_nifti(tmp_path / "scan.nii.gz")


@pytest.fixture(scope="session")
def small_weights(tmp_path_factory) -> Path:
    """A random small Meta-SRGAN (1 block, 16 channels) as a real weights file."""
    from engine import networks
    from engine.weights import WeightsInfo, save_weights

    torch.manual_seed(3)
    arch = {"name": "meta_srgan", "args": {"blocks": 1, "channels": 16}}
    model = networks.make(arch).eval()
    path = tmp_path_factory.mktemp("weights") / "small.safetensors"
    save_weights(model, path, WeightsInfo(arch=arch, training={"trained": True}))
    return path


@pytest.fixture(scope="session")
def small_upscaler(small_weights):
    from engine import load_upscaler

    return load_upscaler(small_weights, device="cpu", bf16=False)
