"""The coded concepts the exported files name, from pydicom's dictionary of DICOM
codes (PS3.16), so no code value or meaning is typed by hand."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

#: DerivationCodeSequence of every enlarged image
SPATIAL_RESAMPLING = codes.DCM.SpatialResampling
#: DerivationCodeSequence of an image cut across the source images
MULTIPLANAR_REFORMATTING = codes.DCM.MultiplanarReformatting
#: PurposeOfReferenceCodeSequence of each SourceImageSequence item
SOURCE_IMAGE = codes.DCM.SourceImageForImageProcessingOperation
#: DeidentificationMethodCodeSequence of a de-identified file
BASIC_PROFILE = codes.DCM.BasicApplicationConfidentialityProfile


def code_item(code: Code) -> Dataset:
    """``code`` as an item of a code sequence (Code Sequence Macro, basic attributes)."""
    item = Dataset()
    item.CodeValue = code.value
    item.CodingSchemeDesignator = code.scheme_designator
    if code.scheme_version:
        item.CodingSchemeVersion = code.scheme_version
    item.CodeMeaning = code.meaning
    return item
