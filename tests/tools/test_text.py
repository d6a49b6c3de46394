"""The text block: compact, and a list of matches as a table that holds exactly the same values."""

from __future__ import annotations

import json

from dicom_mcp.tools.text import text_for


def instances(count: int) -> dict[str, object]:
    """A query_instances result as the standard preset returns it."""
    matches = [
        {
            "SOPInstanceUID": f"1.2.826.0.1.3680043.8.498.4242.3.3.2.{n}",
            "InstanceNumber": n,
            "SOPClassUID": "1.2.840.10008.5.1.4.1.1.2",
            "SeriesInstanceUID": "1.2.826.0.1.3680043.8.498.4242.2.3.2",
            "ContentDate": "20230905",
        }
        for n in range(1, count + 1)
    ]
    return {
        "level": "instance",
        "node": "default",
        "called_ae_title": "ORTHANC",
        "count": count,
        "truncated": False,
        "limit": count,
        "matches": matches,
    }


def test_matches_become_columns_and_rows_with_the_same_values() -> None:
    result = instances(3)
    table = json.loads(text_for(result))
    assert table["matches"]["columns"] == [
        "SOPInstanceUID",
        "InstanceNumber",
        "SOPClassUID",
        "SeriesInstanceUID",
        "ContentDate",
    ]
    rebuilt = [dict(zip(table["matches"]["columns"], row, strict=True)) for row in table["matches"]["rows"]]
    assert rebuilt == result["matches"]
    assert {k: v for k, v in table.items() if k != "matches"} == {
        k: v for k, v in result.items() if k != "matches"
    }


def test_a_2000_match_answer_is_much_smaller_as_a_table() -> None:
    result = instances(2000)
    indented = len(json.dumps(result, indent=2))
    compact = len(json.dumps(result, separators=(",", ":")))
    table = len(text_for(result))
    print(f"2,000 matches: indented {indented:,} B, compact {compact:,} B, table {table:,} B")
    assert table < 0.75 * compact < 0.75 * indented


def test_results_without_matches_are_compact_json() -> None:
    result = {"success": True, "host": None, "port": None, "ae_title": "ORTHANC"}
    assert text_for(result) == '{"success":true,"host":null,"port":null,"ae_title":"ORTHANC"}'


def test_rows_missing_a_column_get_null() -> None:
    result = {"count": 2, "matches": [{"A": 1}, {"A": 2, "B": "x"}]}
    assert json.loads(text_for(result))["matches"] == {"columns": ["A", "B"], "rows": [[1, None], [2, "x"]]}
