"""DICOM export: a new series of derived images, one file per stored slice.

From a DICOM source whose IOD we can keep (MR Image, CT Image) each image starts as
a copy of its source slice's header (``volume.meta.dicom.headers[k]``)
and keeps the IOD, the patient and study modules, the frame of reference and the
orientation; it gets ImageType DERIVED\\SECONDARY, new Series/SOP Instance UIDs,
the derivation (description naming method, scale and weights sha256; the code
"Spatial resampling", ``dicom_codes``), a SourceImageSequence pointing at its source
instance, the new Rows/Columns/PixelSpacing, ImagePositionPatient at the new first
pixel centre, and 16-bit unsigned MONOCHROME2 pixels after clipping and rounding
(``ValueMapping``).  Private tags, overlays and attributes about the old pixels
(smallest/largest value, icon, palette, multi-frame) are dropped: they would lie.

Anything else (a NIfTI source, enhanced multi-frame or other IODs) becomes
Secondary Capture with the same provenance, plus the Image Plane attributes and the
frame of reference as extra attributes (SC has no Image Plane module; dciodvfy
warns about them) so readers still recover the geometry.  It is built here, not with
highdicom's ``SCImage``: that stamps the wall clock into six date/time attributes
(identical requests would no longer give identical files, and a de-identified file
would carry dates), and sets a conversion type, image type and contributing equipment
that are not this export's.
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian
from pydicom.valuerep import format_number_as_ds

from .deidentify import Deidentifier
from .dicom_codes import MULTIPLANAR_REFORMATTING, SOURCE_IMAGE, SPATIAL_RESAMPLING, code_item
from .dicom_geometry import ImagePlane, patient_orientation
from .dicom_text import clean_text
from .provenance import SOFTWARE, Provenance, software_version
from .value_mapping import ValueMapping

MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
#: IODs whose derived images keep the source's SOP Class (single-frame, with an Image Plane module)
KEPT_IODS = {MR_IMAGE, CT_IMAGE}

#: Attributes of the source image that would be wrong for the new pixels.
_DROP = (
    "PixelData", "FloatPixelData", "DoubleFloatPixelData", "SmallestImagePixelValue", "LargestImagePixelValue",
    "SmallestPixelValueInSeries", "LargestPixelValueInSeries", "PixelPaddingValue", "PixelPaddingRangeLimit",
    "IconImageSequence", "NumberOfFrames", "FrameIncrementPointer", "PlanarConfiguration", "PixelAspectRatio",
    "RedPaletteColorLookupTableDescriptor", "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor", "RedPaletteColorLookupTableData", "GreenPaletteColorLookupTableData",
    "BluePaletteColorLookupTableData", "ModalityLUTSequence", "VOILUTSequence", "RealWorldValueMappingSequence",
    "SourceImageSequence", "DerivationCodeSequence", "DerivationDescription", "PerFrameFunctionalGroupsSequence",
    "SharedFunctionalGroupsSequence", "DimensionIndexSequence", "DimensionOrganizationSequence",
    "ExtendedOffsetTable", "ExtendedOffsetTableLengths", "DataSetTrailingPadding", "DigitalSignaturesSequence",
    "MACParametersSequence", "EncryptedAttributesSequence", "InstanceCreatorUID", "RescaleSlope", "RescaleIntercept",
    "PixelSpacingCalibrationType", "PixelSpacingCalibrationDescription", "SpecificCharacterSet",
    "SOPInstanceStatus", "SOPAuthorizationDateTime", "SOPAuthorizationComment", "AuthorizationEquipmentCertificationNumber",
)

#: What an SC image copies from a DICOM source it cannot keep the IOD of.
_PATIENT_STUDY = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge", "PatientWeight", "PatientSize",
    "StudyInstanceUID", "StudyDate", "StudyTime", "StudyID", "AccessionNumber", "ReferringPhysicianName",
    "StudyDescription", "IssuerOfPatientID", "OtherPatientIDs", "EthnicGroup", "PatientComments",
    "PatientIdentityRemoved", "DeidentificationMethod", "DeidentificationMethodCodeSequence",
    "InstitutionName", "BodyPartExamined", "PatientPosition", "FrameOfReferenceUID",
)


@dataclass
class ExportedSeries:
    """The series-level values every image of one exported series (SR or bicubic) carries."""

    uid: str
    number: int
    description: str
    provenance: Provenance
    mapping: ValueMapping
    window: object  # WindowPreset: used where the source has none
    created: datetime
    anonymize: bool
    burned_in: bool = False  # the pixels may carry burned-in text (``burned_in``)


def ds_str(x: float) -> str:
    """A number as DICOM DS (at most 16 characters, as exact as they allow)."""
    x = float(x)
    if x == 0:
        return "0"
    if x == round(x) and abs(x) < 1e15:
        return str(int(round(x)))
    return format_number_as_ds(x)


def keeps_iod(header) -> bool:
    """True when the derived image can keep the source's SOP Class."""
    return header is not None and str(getattr(header, "SOPClassUID", "")) in KEPT_IODS and int(
        getattr(header, "NumberOfFrames", 1) or 1
    ) == 1


def _set_plane(ds: Dataset, plane: ImagePlane, keep_iop=None) -> None:
    ds.Rows, ds.Columns = int(plane.shape[0]), int(plane.shape[1])
    ds.PixelSpacing = [ds_str(plane.pixel_spacing[0]), ds_str(plane.pixel_spacing[1])]
    ds.ImagePositionPatient = [ds_str(v) for v in plane.position]
    iop = plane.orientation
    if keep_iop is not None and np.allclose(np.asarray(keep_iop, dtype=float), iop, atol=1e-4):
        ds.ImageOrientationPatient = keep_iop  # the source's own values, unchanged
    else:
        ds.ImageOrientationPatient = [ds_str(round(v, 10)) for v in iop]


def _set_pixels(ds: Dataset, pixels_u16: np.ndarray, series: ExportedSeries, always_rescale: bool) -> None:
    # the Image Pixel module: samples, bits, representation, rows and columns from the array
    ds.set_pixel_data(np.ascontiguousarray(pixels_u16, dtype=np.uint16), "MONOCHROME2", 16, generate_instance_uid=False)
    m = series.mapping
    if always_rescale or (m.slope, m.intercept) != (1.0, 0.0):
        ds.RescaleIntercept = ds_str(m.intercept)
        ds.RescaleSlope = ds_str(m.slope)
        if always_rescale and "RescaleType" not in ds and ds.get("SOPClassUID") == SECONDARY_CAPTURE:
            ds.RescaleType = "US"  # unspecified units
    if "WindowCenter" not in ds or "WindowWidth" not in ds:
        w = series.window
        ds.WindowCenter = ds_str(w.center)
        ds.WindowWidth = ds_str(max(w.width, 1e-6))


def _set_derivation(ds: Dataset, series: ExportedSeries, sources, reformatted: bool, plane: ImagePlane) -> None:
    # the image's rows run along the stored j axis when it is the stored slice transposed
    ds.DerivationDescription = series.provenance.summary(rows_axis=1 if plane.transpose else 0)
    derivation = [code_item(SPATIAL_RESAMPLING)]
    if reformatted:
        derivation.append(code_item(MULTIPLANAR_REFORMATTING))
    ds.DerivationCodeSequence = Sequence(derivation)
    refs = []
    for sop_class, sop_uid, frame in sources:
        ref = Dataset()
        ref.ReferencedSOPClassUID = sop_class
        ref.ReferencedSOPInstanceUID = sop_uid
        if frame is not None:
            ref.ReferencedFrameNumber = int(frame)
        ref.PurposeOfReferenceCodeSequence = Sequence([code_item(SOURCE_IMAGE)])
        refs.append(ref)
    if refs:
        ds.SourceImageSequence = Sequence(refs)


def _set_times(ds: Dataset, created: datetime, anonymize: bool) -> None:
    if anonymize:
        return  # the basic profile keeps no dates; we add none
    date, time = created.strftime("%Y%m%d"), created.strftime("%H%M%S")
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
    ds.SeriesDate, ds.SeriesTime = date, time
    ds.ContentDate, ds.ContentTime = date, time


def _image_type(header, reformatted: bool = False) -> list[str]:
    old = list(getattr(header, "ImageType", []) or []) if header is not None else []
    rest = [v for v in old[2:] if v and v.upper() != "MOSAIC"]
    if reformatted:  # value 3 names the image's plane for CT ("AXIAL"): a reformat is not that
        rest = ["REFORMATTED" if v.upper() == "AXIAL" else v for v in rest]
    return ["DERIVED", "SECONDARY", *rest]


def derived_image(
    header: Dataset | None,
    pixels: np.ndarray,
    plane: ImagePlane,
    series: ExportedSeries,
    *,
    sop_uid: str,
    instance_number: int,
    frame_of_reference_uid: str,
    study_uid: str,
    deid: Deidentifier | None = None,
    sources=(),
    reformatted: bool = False,
    patient: dict | None = None,
) -> Dataset:
    """One exported image.  ``pixels``: the DICOM image (rows, columns) in the scan's
    units; ``header``: its source slice's header (None for NIfTI sources; for a
    reformat, the template of ``export.reformat``); ``sources``: the (SOP Class,
    SOP Instance UID, frame or None) of the source images it was made from;
    ``reformatted``: cut across the source images (a multiplanar reformat);
    ``patient``: patient/study values for sources without a header."""
    keep = keeps_iod(header)
    if keep:
        ds = copy.deepcopy(header)
        ds.file_meta = FileMetaDataset()  # the source file's transfer syntax is not this image's (``write_dataset``)
        ds.remove_private_tags()
        for tag in [t for t in ds.keys() if t.group in range(0x5000, 0x5100) or t.group in range(0x6000, 0x6100)]:
            del ds[tag]
        for kw in _DROP:
            if kw in ds:
                delattr(ds, kw)
        charset = header.get("SpecificCharacterSet")
        keep_iop = header.get("ImageOrientationPatient")
    else:
        ds = Dataset()
        charset, keep_iop = None, None
        if header is not None:
            charset = header.get("SpecificCharacterSet")
            for kw in _PATIENT_STUDY:
                if kw in header:
                    setattr(ds, kw, copy.deepcopy(header[kw].value))
            keep_iop = header.get("ImageOrientationPatient")
        else:
            for kw, value in (patient or {}).items():
                setattr(ds, kw, value)
    sources = [(c, deid.uid(u) if deid else u, f) for c, u, f in sources]
    if deid is not None:
        deid.apply(ds)
    if charset:
        ds.SpecificCharacterSet = charset

    if not keep:
        _secondary_capture_modules(ds, plane, series, study_uid, frame_of_reference_uid)
    _fix_laterality(ds)

    ds.ImageType = _image_type(header if keep else None, reformatted)
    ds.SOPInstanceUID = sop_uid
    ds.SeriesInstanceUID = series.uid
    ds.SeriesNumber = series.number
    ds.SeriesDescription = series.description[:64]
    ds.InstanceNumber = int(instance_number)
    _set_times(ds, series.created, series.anonymize)
    _set_plane(ds, plane, keep_iop)
    _set_derivation(ds, series, sources, reformatted, plane)
    _set_pixels(ds, series.mapping.to_uint16(pixels), series, always_rescale=not keep or ds.SOPClassUID == CT_IMAGE)
    if series.burned_in:
        ds.BurnedInAnnotation = "YES"
    if deid is not None:
        Deidentifier.mark(ds, pixels_may_identify=series.burned_in)
    clean_text(ds)
    if "SpecificCharacterSet" not in ds and _has_non_ascii(ds):
        ds.SpecificCharacterSet = "ISO_IR 192"
    return ds


#: Body parts that come in pairs (CID 4031 terms): their images need a Laterality.
_PAIRED = {
    "BREAST", "EYE", "EAR", "ORBIT", "KIDNEY", "LUNG", "ADRENAL", "OVARY", "TESTIS", "PAROTID",
    "SHOULDER", "CLAVICLE", "SCAPULA", "ARM", "HUMERUS", "ELBOW", "FOREARM", "RADIUS", "ULNA", "WRIST",
    "HAND", "FINGER", "THUMB", "HIP", "FEMUR", "THIGH", "KNEE", "PATELLA", "LEG", "TIBIA", "FIBULA",
    "ANKLE", "FOOT", "HEEL", "CALCANEUS", "TOE", "EXTREMITY", "UPRLIMB", "LOWRLIMB", "SACROILIAC",
}


def _fix_laterality(ds: Dataset) -> None:
    """Laterality (Type 2C) is required for a paired body part and must be absent for
    an unpaired one; when BodyPartExamined does not say, present and empty (unknown)."""
    part = str(ds.get("BodyPartExamined", "") or "").upper()
    if part and part not in _PAIRED:
        if "Laterality" in ds and not ds.Laterality:
            del ds.Laterality
    elif "Laterality" not in ds:
        ds.Laterality = ""


def _secondary_capture_modules(ds: Dataset, plane: ImagePlane, series: ExportedSeries, study_uid: str, for_uid: str) -> None:
    ds.SOPClassUID = SECONDARY_CAPTURE
    for kw in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
               "ReferringPhysicianName", "StudyID", "AccessionNumber"):
        if kw not in ds:
            setattr(ds, kw, "")  # Type 2: present, empty when unknown
    if "StudyInstanceUID" not in ds:
        ds.StudyInstanceUID = study_uid
    ds.Modality = "OT"
    ds.ConversionType = "WSD"  # workstation
    ds.Manufacturer = ""
    ds.SecondaryCaptureDeviceManufacturer = SOFTWARE
    ds.SecondaryCaptureDeviceSoftwareVersions = software_version()[:64]
    ds.PatientOrientation = patient_orientation(plane.row_cosine, plane.col_cosine)
    ds.BurnedInAnnotation = "YES" if series.burned_in else "NO"
    # geometry beyond the SC IOD, so readers can place the image
    if "FrameOfReferenceUID" not in ds:
        ds.FrameOfReferenceUID = for_uid


def _has_non_ascii(ds: Dataset) -> bool:
    for elem in ds.iterall():
        if elem.VR in ("PN", "LO", "SH", "ST", "LT", "UT", "UC") and elem.value is not None:
            if any(ord(ch) > 127 for ch in str(elem.value)):
                return True
    return False


def write_dataset(ds: Dataset, fileobj) -> None:
    """Write ``ds`` as a DICOM file (Part 10 header, explicit VR little endian)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = ("METAZOOM_" + software_version().replace(".", "_"))[:16]
    ds.file_meta = meta
    buf = io.BytesIO()  # encode in memory: a failing disk then raises a plain OSError
    pydicom.dcmwrite(buf, ds, enforce_file_format=True)
    fileobj.write(buf.getvalue())
