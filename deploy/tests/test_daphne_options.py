"""Every command that starts daphne sets the same bounds (issue 14, item 7)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from django.conf import settings

from apps.devtools.processes import DAPHNE_OPTIONS

REPO = Path(__file__).resolve().parents[2]


def _dockerfile_cmd() -> list[str]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", "")
    return json.loads(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))


def _commands() -> dict[str, list[str]]:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    documents = yaml.safe_load_all((REPO / "deploy" / "k8s" / "web.yaml").read_text())
    web = next(doc for doc in documents if doc and doc.get("kind") == "Deployment")
    container = next(c for c in web["spec"]["template"]["spec"]["containers"] if c["name"] == "web")
    return {
        "Dockerfile": _dockerfile_cmd(),
        "compose": compose["services"]["web"]["command"],
        "kubernetes": container["args"],
    }


def _options(command: list[str]) -> dict[str, str]:
    start = command.index("8000") + 1
    flags = command[start:-1]
    return dict(zip(flags[::2], flags[1::2], strict=True))


def test_every_daphne_command_sets_the_same_bounds():
    expected = dict(zip(DAPHNE_OPTIONS[::2], DAPHNE_OPTIONS[1::2], strict=True))
    # Daphne refuses a message the consumer would refuse (it cannot close with 1009 itself).
    assert int(expected["--websocket-max-message-size"]) == settings.CHAT_MAX_FRAME_BYTES
    for name, command in _commands().items():
        assert command[0] == "daphne" and command[-1] == "hscjit.asgi:application", name
        assert _options(command) == expected, name


def test_the_compose_proxy_times_out_slow_headers():
    conf = (REPO / "deploy" / "nginx" / "hscjit.conf").read_text()
    assert re.search(r"client_header_timeout\s+\d+s;", conf)
