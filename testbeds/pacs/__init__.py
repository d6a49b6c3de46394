"""Real-PACS test beds: a synthetic DICOM data set plus Orthanc and DCMTK dcmqrscp launchers."""

from testbeds.pacs.common import PATIENT_ROOT_FIND, STUDY_ROOT_FIND, PacsStartupError, RunningPacs, c_find
from testbeds.pacs.dataset import Catalog, Instance, Patient, Series, Study, build_dataset, make_catalog
from testbeds.pacs.dcmqrscp import run_dcmqrscp
from testbeds.pacs.orthanc import run_orthanc

__all__ = [
    "PATIENT_ROOT_FIND",
    "STUDY_ROOT_FIND",
    "Catalog",
    "Instance",
    "PacsStartupError",
    "Patient",
    "RunningPacs",
    "Series",
    "Study",
    "build_dataset",
    "c_find",
    "make_catalog",
    "run_dcmqrscp",
    "run_orthanc",
]
