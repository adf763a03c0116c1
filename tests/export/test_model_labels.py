"""Every exported SR image says which model made it (issue 21, labelling): DICOM's
DerivationDescription and SeriesDescription, PNG's and TIFF's description, NIfTI's
descrip and header extension; a bicubic stream names none."""

from __future__ import annotations

import json

import nibabel as nib
import pydicom
import tifffile
from PIL import Image

from engine.export import ExportRequest, run_export
from engine.export.provenance import Provenance


def _outputs(req):
    *_, last = run_export(req)
    assert last.finished
    return last.outputs


def test_dicom_series_name_the_model(dicom_series, tmp_path, small_upscaler):
    _, vol = dicom_series
    outs = _outputs(ExportRequest(vol, tmp_path / "d", small_upscaler, 2.0, "dicom", slices=(0, 1), include_bicubic=True))
    sr, bic = [pydicom.dcmread(p) for p in outs]
    assert list(sr.ImageType[:2]) == ["DERIVED", "SECONDARY"] and sr.DerivationCodeSequence[0].CodeValue == "113085"
    assert "model site, weights small.safetensors" in sr.DerivationDescription
    assert "MetaZoom SR site small x2" in sr.SeriesDescription and len(sr.SeriesDescription) <= 64
    assert "MetaZoom bicubic x2" in bic.SeriesDescription and "site" not in bic.SeriesDescription


def test_image_files_name_the_model(nifti_volume, tmp_path, small_upscaler):
    png = _outputs(ExportRequest(nifti_volume, tmp_path / "p", small_upscaler, 2.0, "png", slices=(0, 1)))[0]
    desc = json.loads(Image.open(png).text["Description"])
    assert desc["weights"]["model"] == "site" and desc["weights"]["file"] == "small.safetensors" and desc["method"] == "meta-srgan"
    tif = _outputs(ExportRequest(nifti_volume, tmp_path / "t", small_upscaler, 2.0, "tiff", slices=(0, 1)))[0]
    with tifffile.TiffFile(tif) as t:
        assert json.loads(t.pages[0].description)["weights"]["model"] == "site"
    nii = _outputs(ExportRequest(nifti_volume, tmp_path / "n.nii.gz", small_upscaler, 2.0, "nifti"))[0]
    hdr = nib.load(str(nii)).header
    assert "meta-srgan:site" in hdr["descrip"].tobytes().decode()
    assert json.loads(hdr.extensions[0].get_content())["weights"]["model"] == "site"


def test_the_model_label_of_each_model():
    w = {"model": "fidelity", "file": "meta_srgan.safetensors", "sha256": "ab" * 32, "arch": "meta_srgan", "trained": True}
    assert Provenance("sr", 2.0, 2.0, ((10, 20), (10, 20)), weights=w).model_label() == "fidelity"
    site = dict(w, model="site", file="hospital_knee_2026_finetuned_v3.safetensors")
    assert Provenance("sr", 2.0, 2.0, ((10, 20), (10, 20)), weights=site).model_label() == "site hospital_knee_2026_f"
    assert Provenance("bicubic", 2.0, None, ((10, 20), (10, 20)), weights=w).model_label() is None
