"""Every setting has one name, documented in .env.example and docs/operators/settings.md, with its default."""

import re
from pathlib import Path

from dicom_mcp.settings import Settings, environment_names

REPO = Path(__file__).resolve().parents[1]


def env_names() -> dict[str, str]:
    return environment_names()


def example_values() -> dict[str, str]:
    text = (REPO / ".env.example").read_text()
    return dict(re.findall(r"^([A-Z_]+)=(.*)$", text, flags=re.MULTILINE))


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    assert set(example_values()) == set(env_names().values())


def test_env_example_values_are_the_defaults() -> None:
    from_example = Settings.model_validate({k: v for k, v in example_values().items() if v != ""})
    assert from_example == Settings.model_construct(
        **{n: f.default for n, f in Settings.model_fields.items()}
    )


def test_settings_page_documents_every_setting() -> None:
    page = (REPO / "docs" / "operators" / "settings.md").read_text()
    missing = [env for env in env_names().values() if f"`{env}`" not in page]
    assert not missing
