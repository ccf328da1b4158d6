"""The operations guide keeps up with the code: every setting is in its reference."""

from __future__ import annotations

import re

from deploy.tests.conftest import DEPLOY, REPO

GUIDE = (DEPLOY / "README.md").read_text()


def _settings_variables() -> set[str]:
    source = (REPO / "hscjit" / "settings.py").read_text()
    return set(re.findall(r'env_(?:str|bool|int|float|list)\(\s*"([A-Z0-9_]+)"', source))


def test_every_environment_variable_of_the_settings_is_documented() -> None:
    variables = _settings_variables()
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= variables
    missing = sorted(v for v in variables if f"`{v}`" not in GUIDE)
    assert missing == []


def test_every_variable_the_deploy_files_read_is_documented() -> None:
    sources = [
        DEPLOY / "scripts" / "backup.sh",
        DEPLOY / "scripts" / "restore.sh",
        DEPLOY / "docker" / "entrypoint.sh",
        DEPLOY / "docker" / "metrics_exporter.py",
    ]
    used: set[str] = set()
    for path in sources:
        text = path.read_text()
        used |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", text))
        used |= set(re.findall(r'env_\w+\(\s*"([A-Z0-9_]+)"', text))
    assert "BACKUP_S3_BUCKET" in used
    used.discard("BASH_SOURCE")
    missing = sorted(v for v in used if v not in GUIDE)
    assert missing == []


def test_the_guide_has_every_section_the_operators_need() -> None:
    headings = set(re.findall(r"^## (.+)$", GUIDE, flags=re.MULTILINE))
    assert {
        "Architecture",
        "First deployment",
        "Configuration reference",
        "Scaling",
        "Monitoring",
        "Backup and restore",
        "Runbook",
        "Deployment checklist",
    } <= headings
