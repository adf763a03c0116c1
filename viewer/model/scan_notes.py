"""What the viewer must say about a scan before it enhances it.  No Qt.

- ``quantitative_reason``: a map whose pixel values are measurements (a field map in
  Hz, ADC, T1/T2 maps, phase...): an enhancement invents values, so SR is off by
  default there, with a notice, and the user may turn it on.
- ``has_geometry``: images without a position in the patient (ultrasound, secondary
  capture, a NIfTI without sform/qform) get no R/L/A/P letters and no millimetres.
- ``colour_note``: a colour image shown as grey says so.
"""

from __future__ import annotations

import re

#: Units (DICOM RescaleType / RealWorldValue units, NIfTI notes) of quantitative maps.
QUANT_UNITS = {"hz": "a field map in Hz", "s/mm2": "a diffusion map", "mm2/s": "an ADC map", "10^-6 mm2/s": "an ADC map",
               "um2/s": "an ADC map", "ms": "a relaxation-time map (ms)", "s": "a relaxation-time map (s)", "rad": "a phase map",
               "radians": "a phase map", "1/s": "a rate map", "ppm": "a susceptibility map (ppm)"}
#: ImageType values (DICOM) that mark a computed map.
QUANT_IMAGE_TYPES = {"ADC": "an ADC map", "FIELD_MAP": "a field map", "B0": "a field map", "B0_MAP": "a field map", "T1_MAP": "a T1 map",
                     "T2_MAP": "a T2 map", "T2_STAR_MAP": "a T2* map", "R2_STAR_MAP": "an R2* map", "PHASE": "a phase image",
                     "P": "a phase image", "FA": "an FA map", "MAP": "a computed map", "QSM": "a susceptibility map",
                     "T1 MAP": "a T1 map", "T2 MAP": "a T2 map"}
#: Words in a description or file name.
QUANT_WORDS = [
    (r"field ?map|fieldmap|b0[_ ]?map|_fmap|hz\b", "a field map"),
    (r"\badc\b|apparent diffusion|_adc", "an ADC map"),
    (r"\bt1 ?map|t1map|_t1map|\bt1[_ ]?relax", "a T1 map"),
    (r"\bt2 ?map|t2map|_t2map|t2\*? ?map|t2star ?map", "a T2 map"),
    (r"\bphase\b|_ph\b|_ph\.|_phase", "a phase image"),
    (r"\bqsm\b", "a susceptibility map"),
]


def _image_type(meta) -> list[str]:
    source = getattr(meta, "dicom", None)
    headers = source.headers if source is not None else ()
    if not headers:
        return []
    value = getattr(headers[len(headers) // 2], "ImageType", None)
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split("\\")
    return [str(v).strip().upper() for v in value]


def quantitative_reason(meta, source_names=()) -> str | None:
    """Why this scan is a quantitative map (a few words for the notice), or None."""
    units = str(getattr(meta, "units", "") or "").strip().lower()
    if units in QUANT_UNITS:
        return f"{QUANT_UNITS[units]} (units {meta.units})"
    image_type = _image_type(meta)
    # the 3rd value onwards says what was computed (ORIGINAL\PRIMARY\M\ND is a magnitude image)
    for value in image_type[2:]:
        if value in QUANT_IMAGE_TYPES:
            return f"{QUANT_IMAGE_TYPES[value]} (ImageType {value})"
    text = " ".join([str(getattr(meta, "description", "") or ""), *(str(n) for n in source_names)]).lower()
    for pattern, what in QUANT_WORDS:
        if re.search(pattern, text):
            return f"{what} (by its name)"
    return None


NO_GEOMETRY_NOTES = ("no ImagePositionPatient/ImageOrientationPatient", "mosaic without geometry")


def has_geometry(meta, kind: str = "") -> bool:
    """Whether the voxels have a place in the patient (letters and mm mean something)."""
    if any(any(n in w for n in NO_GEOMETRY_NOTES) for w in getattr(meta, "warnings", []) or []):
        return False
    nifti = getattr(meta, "nifti", None)
    if kind == "nifti" and nifti is not None and nifti.sform_code == 0 and nifti.qform_code == 0:
        return False
    return True


def colour_note(meta) -> str | None:
    if any("converted to luminance (grey)" in w for w in getattr(meta, "warnings", []) or []):
        return "colour image shown as grey"
    return None
