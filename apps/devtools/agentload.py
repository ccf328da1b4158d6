"""Support agents at work during a load run (`loadtest --agents N`).

N agents log in on the staff console of one web process (B); 2N customers on another (A) ask
for a person; each agent claims two of them, opens them, and replies at a human pace,
turn about: reads for a moment, types with the typing indicator on, sends. The agent's
client notes when it sent each reply and the customer's client when it arrived, on the
monotonic clock of this one process, so the delay is the whole way from the agent's console
through B, the channel layer and A to the customer's socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Any

from apps.devtools.livesupport import SOCKET_ERRORS, Agent, Customer
from apps.devtools.loadclient import Recorder, next_ref

CONVERSATIONS_PER_AGENT = 2
# About 80 words a minute; a moment to read what the customer wrote before typing.
AGENT_CHARS_PER_SECOND = 7.0
READING_SECONDS = (1.0, 3.0)
REPLIES = (
    "Thanks for waiting, let me look at that for you.",
    "The warranty in Israel is two years from the date on the receipt.",
    "Could you tell me the serial number on the back panel?",
    "Hold the power button for ten seconds, then try again.",
    "Our service centre can check it this week; shall I book it?",
    "That model ships with the adapter; the cable is sold separately.",
)


def agent_names(count: int) -> list[str]:
    return [f"loadtest-agent-{n}" for n in range(count)]


@dataclass
class AgentLoad:
    agent_site: str
    customer_site: str
    names: list[str]
    password: str
    agents: list[Agent] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    conversations: dict[str, list[int]] = field(default_factory=dict)  # agent -> handoff ids
    recorder: Recorder = field(default_factory=Recorder)  # the phase's, from open()

    @property
    def customer_count(self) -> int:
        return CONVERSATIONS_PER_AGENT * len(self.names)

    async def open(self, recorder: Recorder) -> list[str]:
        """Agents on their console, customers handed to them; the states customers saw."""
        self.recorder = recorder
        # Agents first: a customer who asks while an agent is online waits for one.
        self.agents = [Agent(self.agent_site, n, password=self.password) for n in self.names]
        # One login at a time: each hashes a password on the process's one thread for sync
        # work, where a console's handshake would queue behind them past daphne's timeout.
        for agent in self.agents:
            await agent.login()
        await asyncio.gather(*(agent.connect() for agent in self.agents))
        customers = [Customer(self.customer_site, recorder) for _ in range(self.customer_count)]
        results = await asyncio.gather(
            *(self._hand_over(c) for c in customers), return_exceptions=True
        )
        states: list[dict[str, Any]] = []
        for customer, result in zip(customers, results, strict=True):
            if isinstance(result, BaseException):
                recorder.errors[f"handoff:{type(result).__name__}"] += 1
            else:
                self.customers.append(customer)
                states.append(result)
        for number, state in enumerate(states):
            agent = self.agents[number % len(self.agents)]
            handoff_id = state["handoff_id"]
            claimed = await agent.claim(handoff_id)
            if claimed["type"] != "claimed":
                raise RuntimeError(f"{agent.username} could not claim {handoff_id}: {claimed}")
            await agent.open(handoff_id)
            self.conversations.setdefault(agent.username, []).append(handoff_id)
        return [state["state"] for state in states]

    @staticmethod
    async def _hand_over(customer: Customer) -> dict[str, Any]:
        await customer.open_session()
        await customer.connect()
        return await customer.ask_for_person()

    async def work(self, until: float) -> None:
        await asyncio.gather(
            *(self._answer(agent, seed, until) for seed, agent in enumerate(self.agents))
        )

    async def _answer(self, agent: Agent, seed: int, until: float) -> None:
        rng = random.Random(f"agent-{seed}")
        for handoff_id in itertools.cycle(self.conversations.get(agent.username, [])):
            # A marker makes every reply's text its own, to find it at the customer's end.
            text = f"{rng.choice(REPLIES)} (#{next_ref('m')})"
            reading = rng.uniform(*READING_SECONDS)
            typing = len(text) / AGENT_CHARS_PER_SECOND
            if time.monotonic() + reading + typing >= until:
                return
            await asyncio.sleep(reading)
            try:
                await agent.typing(handoff_id, active=True)
                await asyncio.sleep(typing)
                await agent.reply(handoff_id, text)
            except SOCKET_ERRORS:
                self.recorder.errors["agent:closed"] += 1
                return

    def measure(self) -> None:
        """Each reply's delay from the agent's send to the customer's socket, as
        `agent_reply`; a reply that never arrived or was never confirmed is an error."""
        arrived: dict[str, float] = {}
        for customer in self.customers:
            arrived.update(customer.arrived)
        for agent in self.agents:
            for text, sent in agent.sent_at.items():
                if text in arrived:
                    self.recorder.observe("agent_reply", (arrived[text] - sent) * 1000)
                else:
                    self.recorder.errors["agent_reply:lost"] += 1
            if agent.pending:
                self.recorder.errors["agent_reply:unconfirmed"] += len(agent.pending)

    async def close(self) -> None:
        """Close the conversations (they leave the queue of the database), then the sockets."""
        for agent in self.agents:
            for handoff_id in self.conversations.get(agent.username, []):
                with contextlib.suppress(*SOCKET_ERRORS):
                    await agent.resolve(handoff_id)
        for client in [*self.agents, *self.customers]:
            await client.close()
