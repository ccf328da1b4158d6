"""The deployment's live-support setup for the system tests: agent users, round-the-clock
hours. The clients are the load tools' own (apps/devtools/livesupport.py)."""

from __future__ import annotations

from hscjit.tests.system.support import Deployment

AGENT_PASSWORD = "agent-password-for-system-tests-0123"


def prepare_support(deployment: Deployment, *, agents: int) -> list[str]:
    """Open support every day all day, and make `agents` users in Support agents."""
    names = [f"agent{n}" for n in range(agents)]
    deployment.manage(
        "shell",
        "-c",
        "from apps.devtools.livesupport import make_agents, open_round_the_clock\n"
        "open_round_the_clock()\n"
        f"make_agents(names={names!r}, password={AGENT_PASSWORD!r})\n",
    )
    return names
