"""An in-memory network for SipAgent tests: agents on fake addresses, a fake clock, a lossy wire."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from talktrack.telephony.sip import Credentials, SipAgent, SipEvent, SipMessage, parse_message

Address = tuple[str, int]
ALICE: Address = ("10.0.0.1", 5060)
BOB: Address = ("10.0.0.2", 5070)

OFFER = b"v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
ANSWER = b"v=0\r\no=bob 2 2 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
HOLD = OFFER.replace(b"t=0 0\r\n", b"t=0 0\r\na=sendonly\r\n")


class Peer(Protocol):
    """What the wire needs from an endpoint (a SipAgent, or a scripted peer in a test)."""

    def receive_datagram(self, data: bytes, addr: Address) -> None: ...
    def datagrams_to_send(self) -> list[tuple[bytes, Address]]: ...
    def next_timer(self) -> float | None: ...
    def handle_timers(self) -> None: ...


@dataclass
class Sent:
    """One datagram on the wire."""

    src: Address
    dst: Address
    data: bytes
    dropped: bool

    @property
    def message(self) -> SipMessage:
        return parse_message(self.data)

    @property
    def first_line(self) -> str:
        return self.data.split(b"\r\n", 1)[0].decode()


@dataclass
class Wire:
    """Carries datagrams between agents at the moment they are sent; ``drop`` decides losses."""

    now: list[float] = field(default_factory=lambda: [0.0])
    agents: dict[Address, Peer] = field(default_factory=dict)
    log: list[Sent] = field(default_factory=list)
    drop: Callable[[Sent], bool] = lambda sent: False

    def clock(self) -> float:
        return self.now[0]

    def agent(self, addr: Address, *, user: str = "agent", credentials: Credentials | None = None) -> SipAgent:
        agent = SipAgent(
            local_host=addr[0],
            local_port=addr[1],
            clock=self.clock,
            user=user,
            credentials=credentials,
            rng=random.Random(len(self.agents) + 1),
        )
        self.agents[addr] = agent
        return agent

    def add(self, addr: Address, peer: Peer) -> None:
        self.agents[addr] = peer

    def pump(self) -> None:
        """Deliver until every outbox is empty."""
        for _ in range(1000):
            moved = False
            for src, agent in list(self.agents.items()):
                for data, dst in agent.datagrams_to_send():
                    moved = True
                    sent = Sent(src, dst, data, dropped=False)
                    sent.dropped = self.drop(sent)
                    self.log.append(sent)
                    if not sent.dropped and dst in self.agents:
                        self.agents[dst].receive_datagram(data, src)
            if not moved:
                return
        raise AssertionError("the agents never went quiet")

    def advance(self, seconds: float) -> None:
        """Move the clock on, firing every timer on the way at its own time."""
        end = self.now[0] + seconds
        while True:
            due = [t for t in (a.next_timer() for a in self.agents.values()) if t is not None and t <= end]
            if not due:
                break
            self.now[0] = max(self.now[0], min(due))
            for agent in list(self.agents.values()):
                agent.handle_timers()
            self.pump()
        self.now[0] = end

    def drop_first(self, first_line_start: str, count: int) -> None:
        """Lose the first ``count`` datagrams (from now on) whose first line starts with ``first_line_start``."""
        left = [count]

        def drop(sent: Sent) -> bool:
            if left[0] > 0 and sent.first_line.startswith(first_line_start):
                left[0] -= 1
                return True
            return False

        self.drop = drop

    def sent(self, first_line_start: str, src: Address | None = None) -> list[Sent]:
        """Datagrams whose first line starts with ``first_line_start`` (e.g. "INVITE", "SIP/2.0 180")."""
        return [s for s in self.log if s.first_line.startswith(first_line_start) and src in (None, s.src)]


def drain(agent: SipAgent) -> list[SipEvent]:
    """Every event the agent has queued."""
    events: list[SipEvent] = []
    while (event := agent.next_event()) is not None:
        events.append(event)
    return events
