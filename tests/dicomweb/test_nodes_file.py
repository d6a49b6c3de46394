"""DICOMweb nodes come from the nodes file only, with a url and optional credentials in files."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicom_mcp.errors import NodesFileError
from dicom_mcp.pacs.nodes import load_nodes


def nodes(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "nodes.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_a_dicomweb_node_and_its_settings(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("abc\n", encoding="utf-8")
    registry = load_nodes(
        nodes(
            tmp_path,
            f'[nodes.cloud]\nprotocol = "dicomweb"\nurl = "https://pacs.example:8443/dicom-web/"\n'
            f'token_file = "{token}"\nmax_connections = 3\ndescription = "Cloud archive"\n'
            '[nodes.main]\nhost = "pacs"\nport = 104\nae_title = "MAIN"\n',
        )
    )
    cloud = registry.targets["cloud"]
    assert (cloud.protocol, cloud.host, cloud.port, cloud.ae_title, cloud.max_associations) == (
        "dicomweb",
        "pacs.example",
        8443,
        "",
        3,
    )
    assert cloud.web is not None and cloud.web.url == "https://pacs.example:8443/dicom-web"
    assert cloud.web.token_file == token and cloud.web.local_matching is None  # found out
    assert cloud.describe() == "node 'cloud' (DICOMweb)"
    assert registry.targets["main"].protocol == "dimse"
    assert registry.descriptions["cloud"] == "Cloud archive"


@pytest.mark.parametrize(
    ("line", "setting"), [("", None), ("local_matching = true", True), ("local_matching = false", False)]
)
def test_local_matching_is_unset_unless_the_node_says(
    tmp_path: Path, line: str, setting: bool | None
) -> None:
    body = f'[nodes.cloud]\nprotocol = "dicomweb"\nurl = "https://pacs/dicom-web"\n{line}\n'
    web = load_nodes(nodes(tmp_path, body)).targets["cloud"].web
    assert web is not None and web.local_matching is setting


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('protocol = "dicomweb"', "url"),
        ('protocol = "dicomweb"\nurl = "ftp://pacs/dicom-web"', "url"),
        ('protocol = "dicomweb"\nurl = "https://pacs/dicom-web"\nhost = "pacs"', "host"),
        (
            'protocol = "dicomweb"\nurl = "https://pacs/dicom-web"\nmove_destination = true',
            "move_destination",
        ),
        (
            'protocol = "dicomweb"\nurl = "https://pacs/dicom-web"\nusername = "u"',
            "username and password_file go together",
        ),
        (
            'protocol = "dicomweb"\nurl = "https://pacs/dicom-web"\ntoken_file = "/nonexistent/token"',
            "does not exist",
        ),
        ('protocol = "dimse"\nhost = "pacs"\nport = 104\nae_title = "A"\nurl = "https://pacs"', "url"),
        ('protocol = "hl7"\nhost = "pacs"\nport = 104\nae_title = "A"', "protocol"),
    ],
)
def test_bad_dicomweb_nodes_are_refused_at_start(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(NodesFileError, match=message):
        load_nodes(nodes(tmp_path, f"[nodes.cloud]\n{body}\n"))


def test_credentials_in_the_url_are_refused_without_being_repeated(tmp_path: Path) -> None:
    with pytest.raises(NodesFileError) as caught:
        load_nodes(
            nodes(
                tmp_path, '[nodes.cloud]\nprotocol = "dicomweb"\nurl = "https://me:hunter2@pacs/dicom-web"\n'
            )
        )
    assert "token_file or password_file" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_token_and_password_do_not_go_together(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("x", encoding="utf-8")
    body = (
        f'[nodes.cloud]\nprotocol = "dicomweb"\nurl = "https://pacs/dicom-web"\ntoken_file = "{secret}"\n'
        f'username = "u"\npassword_file = "{secret}"\n'
    )
    with pytest.raises(NodesFileError, match="not both"):
        load_nodes(nodes(tmp_path, body))


def test_the_documented_example_is_a_valid_nodes_file(tmp_path: Path) -> None:
    section = (Path(__file__).parents[2] / "docs" / "operators" / "dicomweb.md").read_text(encoding="utf-8")
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    for name in ("pacs-token", "pacs-ca.pem"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    example = example.replace("/run/secrets/", f"{tmp_path}/").replace("/etc/dicom-mcp/", f"{tmp_path}/")
    cloud = load_nodes(nodes(tmp_path, example)).targets["cloud"]
    assert cloud.web is not None and (cloud.protocol, cloud.web.token_file) == (
        "dicomweb",
        tmp_path / "pacs-token",
    )
