"""An HL7 CDA document's text content: tags stripped, blocks on their own lines, DTDs refused."""

import pytest

from dicom_mcp.errors import ReportUnreadable
from dicom_mcp.reading.cda import cda_text

CDA = b"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <title>CT Chest Report</title>
  <recordTarget><patientRole><patient>
    <name><given>Jane</given> <family>Doe</family></name>
  </patient></patientRole></recordTarget>
  <component><structuredBody>
    <component><section>
      <title>Findings</title>
      <text>
        <paragraph>Nodule of <content>12\xc2\xa0mm</content> in the right upper lobe.</paragraph>
        <table><tr><th>Site</th><th>Size</th></tr><tr><td>RUL</td><td>12 mm</td></tr></table>
      </text>
    </section></component>
    <component><section>
      <title>Impression</title>
      <text>Likely benign &amp; stable.</text>
    </section></component>
  </structuredBody></component>
</ClinicalDocument>
"""


def test_text_content_with_tags_stripped_and_blocks_on_lines() -> None:
    assert cda_text(CDA, max_chars=10_000) == (
        "CT Chest Report\n"
        "Jane Doe\n"
        "Findings\n"
        "Nodule of 12\xa0mm in the right upper lobe.\n"
        "Site | Size\n"
        "RUL | 12 mm\n"
        "Impression\n"
        "Likely benign & stable.",
        False,
    )


def test_long_text_is_cut_at_max_chars() -> None:
    assert cda_text(CDA, max_chars=20) == ("CT Chest Report\nJane", True)


def test_base64_content_is_skipped() -> None:
    document = b"""<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Scanned report</title>
      <component><nonXMLBody><text mediaType="application/pdf" representation="B64">JVBERi0xLjQK</text>
      </nonXMLBody></component></ClinicalDocument>"""
    assert cda_text(document, max_chars=1000) == ("Scanned report", False)


def test_billion_laughs_is_refused() -> None:
    entities = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    document = (
        f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">{entities}]><lolz>&lol9;</lolz>'
    ).encode()
    with pytest.raises(ReportUnreadable, match="declares a DTD"):
        cda_text(document, max_chars=1000)


def test_undeclared_entity_is_a_clear_error() -> None:
    with pytest.raises(ReportUnreadable, match="not well-formed XML"):
        cda_text(b"<ClinicalDocument>&secret;</ClinicalDocument>", max_chars=1000)


def test_malformed_xml_is_a_clear_error_without_its_content() -> None:
    with pytest.raises(ReportUnreadable) as caught:
        cda_text(b"<ClinicalDocument><title>Doe, Jane</ClinicalDocument>", max_chars=1000)
    assert str(caught.value) == "the CDA document is not well-formed XML"


def test_padding_after_the_document_is_ignored() -> None:
    assert cda_text(b"<ClinicalDocument><title>Report</title></ClinicalDocument>\x00", 100) == (
        "Report",
        False,
    )
