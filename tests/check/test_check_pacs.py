"""`dicom-mcp check` against real PACS: what each offers, what fails and why, and within what time.

Every run is the installed command in a subprocess, reading its settings from the environment and
a nodes file as an operator's would; every output is searched for the data set's patients (cli.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbeds.dicomweb import run_fault_archive
from testbeds.faults import FaultPacs, answers, closed_port, fault_pacs, silent_peer
from testbeds.net import free_port
from testbeds.pacs import RunningPacs
from testbeds.store import STORE_AET
from tests.check.cli import check_env, run_check, write_nodes
from tests.check.conftest import CERTIFICATE_DAYS, Pki

# Each test runs `dicom-mcp check` as a subprocess.
pytestmark = pytest.mark.service

TIMEOUT = 2.0
# Python's start-up and the other nodes' checks around the steps that wait out the timeout.
SLACK = 8.0


def default_pacs(pacs: RunningPacs) -> dict[str, str]:
    return {"DICOM_HOST": pacs.host, "DICOM_PORT": str(pacs.port), "DICOM_CALLED_AE_TITLE": pacs.ae_title}


def node(pacs: RunningPacs, **more: object) -> dict[str, object]:
    return {"host": pacs.host, "port": pacs.port, "ae_title": pacs.ae_title, **more}


def secure_node(pki: Pki, pacs: FaultPacs) -> dict[str, object]:
    tls = {"ca_file": pki.ca, "cert_file": pki.client_cert, "key_file": pki.client_key}
    return {"host": pacs.host, "port": pacs.port, "ae_title": pacs.ae_title, "tls": tls}


def test_a_working_setup_answers_everywhere_and_exits_0(
    orthanc: RunningPacs, dcmqrscp: RunningPacs, pki: Pki, tls_pacs: FaultPacs, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("not-checked-by-this-orthanc\n")
    nodes = write_nodes(
        tmp_path / "nodes.toml",
        {
            "dcmqrscp": node(dcmqrscp),
            "secure": secure_node(pki, tls_pacs),
            "web": {"protocol": "dicomweb", "url": orthanc.dicomweb_url},
            "web-token": {"protocol": "dicomweb", "url": orthanc.dicomweb_url, "token_file": token},
        },
    )
    env = check_env(default_pacs(orthanc), nodes_file=str(nodes))
    checked = run_check(tmp_path, env, "--timeout", str(TIMEOUT))
    assert checked.status == 0, checked.out + checked.err
    for name in ("default", "dcmqrscp", "secure"):
        row = checked.row(name)
        assert row["ASSOCIATION"] == "accepted", row
        assert row["C-ECHO"].endswith(" ms"), row
        assert (row["PATIENT ROOT"], row["STUDY ROOT"]) == ("PAT STU SER IMG", "STU SER IMG"), row
        assert row["C-GET"] == "offered", row
        assert row["C-MOVE"] == "-", row  # no receiver
    assert checked.row("default")["TLS"] == "-"
    # The test certificate is good for two days: shown, and warned about, which does not fail the check.
    assert checked.row("secure")["TLS"] in (
        f"TLSv1.3, {d} d left" for d in (CERTIFICATE_DAYS - 1, CERTIFICATE_DAYS)
    )
    assert checked.row("secure")["RESULT"] == "ok, 1 warning"
    assert "the certificate expires in 1.9" in checked.problems() or "expires in 2.0" in checked.problems()
    web = checked.row("web")
    assert (web["QIDO-RS"].endswith(" ms"), web["CREDENTIALS"], web["WADO-RS METADATA"][:3]) == (
        True,
        "none needed",
        "404",
    )
    assert web["DECODES QUERY STRINGS"] == "no"  # Debian's Orthanc: values are matched here
    assert checked.row("web-token")["CREDENTIALS"] == "accepted (unchecked)"  # this Orthanc asks for none
    assert checked.row("session store")["RESULT"] == "memory"
    assert checked.out.rstrip().endswith("exit status 0")


def test_the_json_document_says_the_same(
    orthanc: RunningPacs, pki: Pki, tls_pacs: FaultPacs, tmp_path: Path
) -> None:
    nodes = write_nodes(
        tmp_path / "nodes.toml",
        {"secure": secure_node(pki, tls_pacs), "web": {"protocol": "dicomweb", "url": orthanc.dicomweb_url}},
    )
    checked = run_check(tmp_path, check_env(default_pacs(orthanc), nodes_file=str(nodes)), "--json")
    assert checked.status == 0, checked.out + checked.err
    document = checked.document()
    assert (document["ok"], document["exit_status"], document["calling_ae_title"]) == (True, 0, "MCPSCU")
    assert document["timeout_seconds"] == 5.0 and document["receiver"] is None
    nodes_by_name = {n["name"]: n for n in document["nodes"]}
    assert list(nodes_by_name) == ["default", "secure", "web"]
    default = nodes_by_name["default"]["checks"]
    assert default["association"]["value"]["offered"] == [
        "C-ECHO", "C-FIND (Patient Root)", "C-FIND (Study Root)", "C-GET (Study Root)", "C-MOVE (Study Root)"
    ]  # fmt: skip
    assert default["echo"]["status"] == "ok" and default["echo"]["value"] > 0
    assert default["patient_root"]["value"] == dict.fromkeys(
        ("PATIENT", "STUDY", "SERIES", "IMAGE"), "answered"
    )
    tls = nodes_by_name["secure"]["checks"]["tls"]
    assert tls["status"] == "warning" and 1 < tls["value"]["days_to_expiry"] <= CERTIFICATE_DAYS
    web = nodes_by_name["web"]["checks"]
    assert web["wado_rs"]["status"] == "ok" and web["decodes_query_strings"]["text"] == "no"
    parts = {p["name"]: p for p in document["parts"]}
    assert list(parts) == ["nodes file", "session store", "API keys", "OAuth JWKS", "pseudonym key"]
    assert parts["nodes file"]["checks"]["result"]["value"] == 2


@pytest.fixture
def strict_pacs() -> Iterator[FaultPacs]:
    """A PACS that refuses associations called for any AE title but its own (STRICT).

    A pynetdicom SCP: dcmqrscp refuses too, but resets the connection at once, which now and then
    loses its A-ASSOCIATE-RJ (see dimse/probe.py's `_associate`).
    """
    with fault_pacs(answers(0), ae_title="STRICT", strict_called_ae=True) as pacs:
        yield pacs


def test_each_failure_is_named_and_the_check_exits_1(
    dcmqrscp: RunningPacs,
    noget_dcmqrscp: RunningPacs,
    strict_pacs: FaultPacs,
    pki: Pki,
    tls_pacs: FaultPacs,
    tmp_path: Path,
) -> None:
    unused = closed_port()
    nodes = write_nodes(
        tmp_path / "nodes.toml",
        {
            "noget": node(noget_dcmqrscp),
            "wrong-ae": {"host": strict_pacs.host, "port": strict_pacs.port, "ae_title": "NOSUCHAE"},
            "unreachable": {"host": "127.0.0.1", "port": unused, "ae_title": "NOBODY"},
            "nameless": {"host": "no-such-pacs.invalid", "port": 104, "ae_title": "NOBODY"},
            "untrusted": {**secure_node(pki, tls_pacs), "tls": {"ca_file": pki.other_ca}},
            "no-client-cert": {**secure_node(pki, tls_pacs), "tls": {"ca_file": pki.ca}},
        },
    )
    checked = run_check(
        tmp_path, check_env(default_pacs(dcmqrscp), nodes_file=str(nodes)), "--timeout", str(TIMEOUT)
    )
    assert checked.status == 1, checked.out + checked.err
    assert checked.row("default")["RESULT"] == "ok"
    noget = checked.row("noget")
    assert (noget["STUDY ROOT"], noget["C-GET"], noget["C-MOVE"], noget["RESULT"]) == (
        "STU SER IMG", "not offered", "no receiver", "FAILED"
    )  # fmt: skip
    assert checked.row("wrong-ae")["ASSOCIATION"] == "rejected"
    assert checked.row("unreachable")["TCP"] == "refused"
    assert checked.row("nameless")["RESOLVE"] == "unknown name"
    assert (checked.row("untrusted")["TLS"], checked.row("untrusted")["ASSOCIATION"]) == ("not trusted", "-")
    # TLS 1.3 finishes the handshake before the PACS looks at the client's certificate.
    no_certificate = checked.row("no-client-cert")
    assert no_certificate["TLS"].startswith("TLSv1.3") and no_certificate["ASSOCIATION"] == "failed"
    problems = checked.problems()
    assert (
        "did not accept the C-GET (Study Root) presentation context; set DICOM_MCP_RECEIVER_PORT" in problems
    )
    assert (
        "rejected the association (Rejected Permanent, Service User: Called AE title not recognised)"
        in problems
    )
    assert f"connection refused: nothing listens on 127.0.0.1:{unused}" in problems
    assert "no-such-pacs.invalid does not resolve" in problems
    assert re.search(r"FAILED +untrusted +TLS +the certificate is not accepted: ", problems)
    assert "closed the TLS connection during negotiation (client certificate refused?)" in problems
    assert "6 of 12 nodes and parts failed: exit status 1" in checked.out


def test_a_silent_host_ends_within_the_timeout_with_clear_words(pki: Pki, tmp_path: Path) -> None:
    with silent_peer() as port:
        nodes = write_nodes(
            tmp_path / "nodes.toml",
            {
                "silent-tls": {
                    "host": "127.0.0.1",
                    "port": port,
                    "ae_title": "SILENT",
                    "tls": {"ca_file": pki.ca},
                },
                "silent-web": {"protocol": "dicomweb", "url": f"http://127.0.0.1:{port}/dicom-web"},
            },
        )
        pacs = {"DICOM_HOST": "127.0.0.1", "DICOM_PORT": str(port), "DICOM_CALLED_AE_TITLE": "SILENT"}
        checked = run_check(tmp_path, check_env(pacs, nodes_file=str(nodes)), "--timeout", "1.5", "--json")
    assert checked.status == 1
    assert checked.seconds < 1.5 + SLACK, f"took {checked.seconds:.1f} s"
    document = {n["name"]: n["checks"] for n in checked.document()["nodes"]}
    assert document["default"]["association"]["detail"].startswith(
        "no answer within 1.5 s to the association request"
    )
    assert document["default"]["association"]["text"] == "no answer 1.5 s"
    assert document["silent-tls"]["tls"]["detail"] == "no answer within 1.5 s to the TLS handshake"
    assert document["silent-web"]["qido_rs"]["detail"] == "no answer within 1.5 s"
    assert document["silent-web"]["wado_rs"]["status"] == "skipped"


def test_with_a_receiver_a_pacs_without_c_get_is_read_by_c_move(
    orthanc: RunningPacs, noget_dcmqrscp: RunningPacs, tmp_path: Path
) -> None:
    nodes = write_nodes(
        tmp_path / "nodes.toml",
        {"orthanc": node(orthanc), "get-only": node(noget_dcmqrscp, retrieve="get")},
    )
    pacs = {**default_pacs(noget_dcmqrscp), "DICOM_AE_TITLE": STORE_AET}  # an AE title both PACS know
    env = check_env(pacs, nodes_file=str(nodes), receiver_port=str(free_port()))
    checked = run_check(tmp_path, env, "--timeout", str(TIMEOUT))
    assert checked.status == 1, checked.out + checked.err  # get-only cannot be read
    assert f"C-MOVE to the receiver {STORE_AET} on 127.0.0.1:" in checked.out.splitlines()[0]
    default = checked.row("default")
    assert (default["C-GET"], default["C-MOVE"], default["RESULT"]) == ("not offered", "answered", "ok")
    assert checked.row("orthanc")["C-MOVE"] == "answered"
    get_only = checked.row("get-only")
    assert (get_only["C-GET"], get_only["RESULT"]) == ("not offered", "FAILED")
    assert 'the node reads by C-GET only (retrieve = "get")' in checked.problems()


@pytest.mark.parametrize("variable", ["DICOM_PORT", "DICOM_MCP_SESSION_STORE"])
def test_settings_that_cannot_be_read_exit_2(variable: str, tmp_path: Path) -> None:
    checked = run_check(tmp_path, check_env({variable: "nonsense"}))
    assert checked.status == 2
    assert checked.err.startswith("dicom-mcp check: invalid settings:")
    assert checked.out == ""


def test_whether_an_archive_decodes_query_strings_is_asked_without_reading_a_value(tmp_path: Path) -> None:
    """Two one-result searches (PatientID * and %2A); only their answers' first bytes are looked at."""
    with run_fault_archive() as archive:
        nodes = write_nodes(
            tmp_path / "nodes.toml",
            {
                name: {"protocol": "dicomweb", "url": archive.url(behaviour)}
                for name, behaviour in (("decodes", "decoding"), ("literal", "literal"))
            },
        )
        checked = run_check(tmp_path, check_env({}, nodes_file=str(nodes)), "--timeout", str(TIMEOUT))
        asked = [r.query for r in archive.requests if "PatientID" in r.query]
    assert checked.row("decodes")["DECODES QUERY STRINGS"] == "yes", checked.out
    assert checked.row("literal")["DECODES QUERY STRINGS"] == "no", checked.out
    assert sorted(asked) == sorted(2 * ["PatientID=*&limit=1", "PatientID=%2A&limit=1"])
