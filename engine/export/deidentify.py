"""De-identification of exported DICOM: the PS3.15 Annex E Basic Application
Confidentiality Profile (no options retained).

Applied to the copy of the source header an exported image starts from, before
MetaZoom adds its own (non-identifying) attributes:

- private tags, overlays and curves removed;
- the attributes of the profile's table that identify (names, IDs, dates and times,
  institution, device serials and station, descriptions and comments, requesting
  and performing people) removed, or emptied where the IOD needs them present
  (Type 2: patient name/birth date/sex, study date/time, accession number,
  referring physician); PatientID and StudyID get an opaque dummy (``ANON``/``S`` +
  8 hex digits of salt and old value), so images still group by patient and study;
- as a safety net, every person name, date, time and date-time anywhere (sequences
  included), and every free-text attribute whose name says it identifies;
- every UID that is not a standard DICOM UID replaced by ``2.25.<uuid5>`` of a
  per-export salt and the old UID: the same source UID gives the same new UID
  within an export (study, frame of reference, referenced images), and no one
  without the salt can map it back.
"""

from __future__ import annotations

import re
import uuid

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID

METHOD = "PS3.15 Basic Application Confidentiality Profile (MetaZoom)"
_NAMESPACE = uuid.UUID("5b0a4d8e-3c56-4f5e-9d7e-6d657461a00d")

#: Type 2 in the image IODs we write: kept present, emptied.
EMPTY = {
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "ReferringPhysicianName",
    "StudyID", "AccessionNumber", "StudyDate", "StudyTime", "ContrastBolusAgent",
}

#: Type 2 identifiers replaced by an opaque dummy (consistent within the export, so
#: images still group by patient and study; empty stays empty).
DUMMY = {"PatientID": "ANON", "StudyID": "S"}

#: Removed (PS3.15 Table E.1-1, basic profile, the entries that occur in image headers).
REMOVE = {
    # patient
    "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames", "PatientBirthName",
    "PatientBirthTime", "PatientMotherBirthName", "PatientAddress", "PatientTelephoneNumbers",
    "PatientAge", "PatientSize", "PatientWeight", "PatientComments", "PatientState",
    "PatientReligiousPreference", "PatientInsurancePlanCodeSequence", "PatientPrimaryLanguageCodeSequence",
    "MilitaryRank", "BranchOfService", "MedicalRecordLocator", "MedicalAlerts", "Allergies",
    "EthnicGroup", "Occupation", "SmokingStatus", "AdditionalPatientHistory", "PregnancyStatus",
    "LastMenstrualDate", "CountryOfResidence", "RegionOfResidence", "CurrentPatientLocation",
    "PatientInstitutionResidence", "IssuerOfPatientID", "IssuerOfPatientIDQualifiersSequence",
    "ResponsiblePerson", "ResponsiblePersonRole", "ResponsibleOrganization", "PatientSexNeutered",
    "ReferencedPatientSequence", "ReferencedPatientPhotoSequence", "PatientBreedDescription",
    "AdmittingDiagnosesDescription", "AdmittingDiagnosesCodeSequence", "AdmissionID",
    "IssuerOfAdmissionIDSequence", "ServiceEpisodeID", "ServiceEpisodeDescription", "VisitComments",
    "PatientTransportArrangements", "SpecialNeeds", "ClinicalTrialSponsorName", "ClinicalTrialSubjectID",
    "ClinicalTrialSubjectReadingID", "ClinicalTrialSiteID", "ClinicalTrialSiteName",
    # study / visit / request
    "StudyDescription", "SeriesDescription", "ProtocolName", "RequestingPhysician", "RequestingService",
    "RequestedProcedureDescription", "RequestedProcedureID", "RequestedProcedureComments",
    "RequestAttributesSequence", "ReferencedStudySequence", "ReferencedPerformedProcedureStepSequence",
    "PerformedProcedureStepID", "PerformedProcedureStepDescription", "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime", "PerformedProcedureStepEndDate", "PerformedProcedureStepEndTime",
    "PerformedLocation", "PerformedStationName", "PerformedStationAETitle", "ScheduledProcedureStepID",
    "ScheduledProcedureStepDescription", "ScheduledPerformingPhysicianName", "ScheduledStationName",
    "ScheduledStationAETitle", "PlacerOrderNumberImagingServiceRequest", "FillerOrderNumberImagingServiceRequest",
    "OrderEnteredBy", "OrderEntererLocation", "OrderCallbackPhoneNumber", "ReasonForStudy",
    "ReasonForTheRequestedProcedure", "ImagingServiceRequestComments", "InterpretationText",
    "StudyComments", "PhysiciansOfRecord", "PhysiciansOfRecordIdentificationSequence",
    "PerformingPhysicianName", "PerformingPhysicianIdentificationSequence", "NameOfPhysiciansReadingStudy",
    "PhysiciansReadingStudyIdentificationSequence", "OperatorsName", "OperatorIdentificationSequence",
    "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers", "ReferringPhysicianIdentificationSequence",
    "ConsultingPhysicianName", "RequestingPhysicianIdentificationSequence",
    # institution / device
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "InstitutionCodeSequence",
    "InstitutionalDepartmentTypeCodeSequence", "StationName", "DeviceSerialNumber", "DeviceUID",
    "DeviceDescription", "DetectorID", "GantryID", "PlateID", "CassetteID", "GeneratorID",
    "SoftwareVersions", "InstanceCreatorUID", "SourceApplicationEntityTitle", "TimezoneOffsetFromUTC",
    # comments and free text
    "ImageComments", "FrameComments", "AcquisitionComments", "TextComments", "TextString",
    "DerivationDescription", "ContentCreatorName", "ContentCreatorIdentificationCodeSequence",
    "AcquisitionDeviceProcessingDescription", "ContrastBolusRoute",
    "DigitalSignaturesSequence", "MACParametersSequence", "OriginalAttributesSequence",
    "EncryptedAttributesSequence", "ModifiedAttributesSequence", "DataSetTrailingPadding",
    "DeidentificationMethod", "DeidentificationMethodCodeSequence", "PatientIdentityRemoved",
    "LongitudinalTemporalInformationModified", "IconImageSequence", "StorageMediaFileSetUID",
    "ReferencedFrameOfReferenceUID", "RelatedFrameOfReferenceUID",
}

#: Standard UIDs are not identifying; these keep their value whatever it is.
KEEP_UIDS = {"SOPClassUID", "ReferencedSOPClassUID", "TransferSyntaxUID", "MediaStorageSOPClassUID",
             "CodingSchemeUID", "ContextUID", "MappingResource"}

#: Free text whose name says it may identify (the safety net for attributes not listed above).
_IDENTIFYING_TEXT = re.compile(
    r"Name|ID$|IDs$|Identifier|Address|Telephone|Institution|Comment|Description|Serial|Station|Physician|"
    r"Operator|Location|Organi[sz]ation|Person|Occupation|Religio|Military|Insurance|Country|Region|"
    r"History|Allerg|Alert|Accession|Requesting|Performing|Scheduled|Admitting|Diagnos|Issuer|Author"
)
_KEEP_TEXT = {"ManufacturerModelName", "SequenceName", "CodeMeaning", "CodingSchemeName",
              "WindowCenterWidthExplanation", "ImplementationVersionName", "CodeValue"}
_FREE_TEXT_VRS = {"LO", "SH", "LT", "ST", "UT", "UC"}
_DATE_VRS = {"DA", "DT", "TM"}


class Deidentifier:
    """The basic profile with one consistent UID mapping (salt: ``uid_seed`` for
    reproducible tests, else random per export)."""

    def __init__(self, salt: str | None = None):
        self.salt = salt if salt is not None else uuid.uuid4().hex
        self._uids: dict[str, str] = {}

    def uid(self, old: str) -> str:
        """The replacement of a UID (the same old UID always gives the same new one)."""
        old = str(old).strip()
        if not old:
            return old
        if old not in self._uids:
            self._uids[old] = "2.25." + str(uuid.uuid5(_NAMESPACE, f"{self.salt}|{old}").int)
        return self._uids[old]

    def dummy(self, prefix: str, old) -> str:
        """``prefix`` + 8 hex digits of (salt, old value): an SH/LO-sized stand-in."""
        return prefix + uuid.uuid5(_NAMESPACE, f"{self.salt}|dummy|{old}").hex[:8].upper()

    @staticmethod
    def is_standard_uid(value: str) -> bool:
        try:
            return UID(value).name != str(value)  # pydicom names the UIDs of the standard
        except Exception:
            return False

    def apply(self, ds: Dataset) -> Dataset:
        """De-identify ``ds`` in place (nested sequences too) and return it."""
        ds.remove_private_tags()
        for elem in list(ds):
            tag = elem.tag
            if tag.group in range(0x5000, 0x5100) or tag.group in range(0x6000, 0x6100):  # curves, overlays
                del ds[tag]
                continue
            kw = elem.keyword
            if kw in DUMMY:
                elem.value = self.dummy(DUMMY[kw], elem.value) if elem.value else ""
                continue
            if kw in EMPTY:
                elem.value = ""
                continue
            if kw in REMOVE:
                del ds[tag]
                continue
            vr = elem.VR
            if vr == "SQ":
                for item in elem.value:
                    self.apply(item)
            elif vr == "PN" or vr in _DATE_VRS or vr == "UN":
                del ds[tag]
            elif vr == "UI":
                if kw in KEEP_UIDS or elem.value in (None, ""):
                    continue
                values = elem.value if elem.VM > 1 else [elem.value]
                new = [v if self.is_standard_uid(v) else self.uid(v) for v in values]
                elem.value = new if elem.VM > 1 else new[0]
            elif vr in _FREE_TEXT_VRS and kw not in _KEEP_TEXT and (not kw or _IDENTIFYING_TEXT.search(kw)):
                del ds[tag]
        return ds

    @staticmethod
    def mark(ds: Dataset) -> None:
        """The attributes that say what was done (SOP Common module)."""
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = METHOD
        code = Dataset()
        code.CodeValue = "113100"
        code.CodingSchemeDesignator = "DCM"
        code.CodeMeaning = "Basic Application Confidentiality Profile"
        ds.DeidentificationMethodCodeSequence = Sequence([code])
        ds.LongitudinalTemporalInformationModified = "REMOVED"
