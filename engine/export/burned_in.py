"""Whether a scan's pixels may carry burned-in text (names, dates, IDs drawn into
the image), which header de-identification cannot remove.

Trusted: the source's own BurnedInAnnotation.  When a source does not say, the
kinds of image that usually carry text (ultrasound, secondary captures, photographs
and scanned documents) are taken to carry it; cross-sectional MR/CT/PET images are
not.  A NIfTI file has no such flag: its voxels are taken as image data.
"""

from __future__ import annotations

#: Modalities whose images usually have text drawn into them when they do not say otherwise.
TEXT_MODALITIES = {"US", "IVUS", "XC", "ES", "GM", "SM", "OT", "DOC", "OP", "IO", "PX", "XA", "RF"}
#: Secondary Capture Image Storage and its multi-frame kinds.
SECONDARY_CAPTURE_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.7.1", "1.2.840.10008.5.1.4.1.1.7.2",
    "1.2.840.10008.5.1.4.1.1.7.3", "1.2.840.10008.5.1.4.1.1.7.4",
}


def burned_in_reason(volume) -> str | None:
    """Why ``volume``'s pixels may carry burned-in text, or None when its source says
    (or its kind implies) they do not."""
    headers = volume.meta.acquired_headers
    seen = set()
    for h in headers:
        if id(h) in seen:
            continue
        seen.add(id(h))
        flag = str(h.get("BurnedInAnnotation", "") or "").strip().upper()
        if flag == "YES":
            return "its DICOM header says BurnedInAnnotation YES"
        if flag == "NO":
            continue
        modality = str(h.get("Modality", "") or "").strip().upper()
        sop_class = str(h.get("SOPClassUID", "") or "")
        if sop_class in SECONDARY_CAPTURE_CLASSES:
            return "it is a Secondary Capture without BurnedInAnnotation NO"
        if modality in TEXT_MODALITIES:
            return f"it is a {modality} image without BurnedInAnnotation NO"
    return None
