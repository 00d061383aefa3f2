"""SIP transactions over UDP (RFC 3261 §17, with RFC 6026's "Accepted" state), on an injected clock.

The rules this module keeps:

* A client transaction is keyed by its Via branch and CSeq method; a server transaction by the branch,
  the Via sent-by and the method, where an ACK finds the INVITE it acknowledges.
* INVITE client: Timer A resends from T1, doubling, until a response; Timer B (64*T1) gives up before any.
  A non-2xx final is ACKed here (same branch) and re-ACKed when it is retransmitted (Timer D keeps it 32 s).
  A 2xx goes to the caller every time it arrives, for 64*T1: the ACK for a 2xx belongs to the dialog.
* Non-INVITE client: Timer E resends from T1, doubling up to T2 (every T2 once a provisional came);
  Timer F (64*T1) gives up; Timer K (T4) absorbs retransmitted finals.
* INVITE server: a retransmitted INVITE replays the last provisional or the non-2xx final; a non-2xx final
  is resent by Timer G (T1 doubling to T2) until the ACK, for at most Timer H (64*T1); Timer I (T4) absorbs
  late ACKs. After a 2xx, retransmitted INVITEs are absorbed for 64*T1 (the dialog resends the 2xx).
* Non-INVITE server: a retransmitted request replays the last response; Timer J (64*T1) then forgets it.
* Every transaction removes itself from the layer when it terminates, so junk never accumulates.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from enum import Enum

from talktrack.telephony.sip.message import Headers, SipRequest, SipResponse, Via, cseq, serialize

Address = tuple[str, int]
Send = Callable[[bytes, Address], None]

T1 = 0.5  # RTT estimate
T2 = 4.0  # maximum retransmit interval for non-INVITE requests and INVITE responses
T4 = 5.0  # maximum time a message stays in the network
MAGIC_COOKIE = "z9hG4bK"


class Timer:
    """A one-shot timer; ``cancel`` stops it."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    """One-shot timers on an injected clock, fired by ``fire_due``."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()

    def start(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Call ``callback`` once ``delay`` seconds from now."""
        timer = Timer(self.clock() + delay, callback)
        heapq.heappush(self._heap, (timer.when, next(self._order), timer))
        if len(self._heap) > 256 and len(self._heap) > 2 * sum(not t.cancelled for _, _, t in self._heap):
            self._heap = [entry for entry in self._heap if not entry[2].cancelled]
            heapq.heapify(self._heap)
        return timer

    def next(self) -> float | None:
        """When the earliest live timer is due."""
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def fire_due(self) -> None:
        """Fire every timer that is due now (timers a callback starts for now fire too)."""
        now = self.clock()
        while self._heap and self._heap[0][0] <= now:
            _, _, timer = heapq.heappop(self._heap)
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback()

    def __len__(self) -> int:
        return sum(not entry[2].cancelled for entry in self._heap)


class State(Enum):
    """Transaction states (RFC 3261 §17 and RFC 6026)."""

    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


_LIVE = (State.CALLING, State.TRYING, State.PROCEEDING)


class ClientTransaction:
    """One request we sent and its retransmissions, until its final response (or timeout)."""

    def __init__(
        self,
        layer: TransactionLayer,
        request: SipRequest,
        dest: Address,
        on_response: Callable[[SipResponse], None],
        on_timeout: Callable[[], None],
    ) -> None:
        self.layer = layer
        self.request = request
        self.dest = dest
        self.key = client_key(request)
        self.invite = request.method == "INVITE"
        self.state = State.CALLING if self.invite else State.TRYING
        self._data = serialize(request)
        self._on_response = on_response
        self._on_timeout = on_timeout
        self._interval = T1
        self._ack: bytes | None = None
        timers = layer.timers
        self._retransmit = timers.start(T1, self._resend)
        self._timeout = timers.start(64 * T1, self._timed_out)
        layer.send(self._data, dest)

    def receive(self, response: SipResponse) -> None:
        """A response whose branch and method matched this transaction."""
        status = response.status
        if self.state in _LIVE:
            if status < 200:
                self.state = State.PROCEEDING
                if self.invite:  # an INVITE may now ring for minutes: neither A nor B applies any more
                    self._retransmit.cancel()
                    self._timeout.cancel()
            elif self.invite and status < 300:
                self._finish(State.ACCEPTED, 64 * T1)
            elif self.invite:
                self._ack = serialize(ack_for_final(self.request, response))
                self.layer.send(self._ack, self.dest)
                self._finish(State.COMPLETED, 32.0)
            else:
                self._finish(State.COMPLETED, T4)
            self._on_response(response)
        elif self.state == State.ACCEPTED and 200 <= status < 300:
            self._on_response(response)  # a retransmitted 2xx: the dialog ACKs it again
        elif self.state == State.COMPLETED and self._ack is not None and status >= 300:
            self.layer.send(self._ack, self.dest)

    def terminate(self) -> None:
        """Stop retransmitting and forget this transaction."""
        self.state = State.TERMINATED
        self._retransmit.cancel()
        self._timeout.cancel()
        self.layer.forget_client(self)

    def _finish(self, state: State, linger: float) -> None:
        self.state = state
        self._retransmit.cancel()
        self._timeout.cancel()
        self._timeout = self.layer.timers.start(linger, self.terminate)

    def _resend(self) -> None:
        if self.state not in _LIVE:
            return
        self.layer.send(self._data, self.dest)
        if self.invite:
            self._interval *= 2
        elif self.state == State.PROCEEDING:
            self._interval = T2
        else:
            self._interval = min(2 * self._interval, T2)
        self._retransmit = self.layer.timers.start(self._interval, self._resend)

    def _timed_out(self) -> None:
        if self.state in _LIVE:
            self.terminate()
            self._on_timeout()


class ServerTransaction:
    """One request we received: replays our last response to its retransmissions."""

    def __init__(self, layer: TransactionLayer, request: SipRequest, source: Address, key: tuple[str, ...]) -> None:
        self.layer = layer
        self.request = request
        self.source = source
        self.key = key
        self.invite = request.method == "INVITE"
        self.state = State.PROCEEDING if self.invite else State.TRYING
        self.dest = Via.parse(request.headers.get_all("Via")[0]).response_address(source)
        self.final_status: int | None = None
        self._last: bytes | None = None
        self._interval = T1
        self._retransmit: Timer | None = None
        self._timeout: Timer | None = None

    def respond(self, response: SipResponse) -> None:
        """Send a response; finals move the transaction on (later ones are ignored)."""
        if self.state not in _LIVE:
            return
        data = serialize(response)
        self.layer.send(data, self.dest)
        if response.status < 200:
            self.state = State.PROCEEDING
            self._last = data
            return
        self.final_status = response.status
        self._last = data
        timers = self.layer.timers
        if self.invite and response.status < 300:
            self.state = State.ACCEPTED
            self._timeout = timers.start(64 * T1, self.terminate)
        elif self.invite:
            self.state = State.COMPLETED
            self._retransmit = timers.start(T1, self._resend)
            self._timeout = timers.start(64 * T1, self.terminate)
        else:
            self.state = State.COMPLETED
            self._timeout = timers.start(64 * T1, self.terminate)

    def retransmitted(self, request: SipRequest) -> bool:
        """A request matching this transaction arrived again; False when it is an ACK for the dialog."""
        if request.method == "ACK":
            if self.state == State.COMPLETED:
                self.state = State.CONFIRMED
                self._cancel_timers()
                self._timeout = self.layer.timers.start(T4, self.terminate)
                return True
            return self.state == State.CONFIRMED
        if self._last is not None and self.state in (State.PROCEEDING, State.COMPLETED):
            self.layer.send(self._last, self.dest)
        return True

    def terminate(self) -> None:
        """Forget this transaction."""
        self.state = State.TERMINATED
        self._cancel_timers()
        self.layer.forget_server(self)

    def _resend(self) -> None:
        if self.state != State.COMPLETED or self._last is None:
            return
        self.layer.send(self._last, self.dest)
        self._interval = min(2 * self._interval, T2)
        self._retransmit = self.layer.timers.start(self._interval, self._resend)

    def _cancel_timers(self) -> None:
        for timer in (self._retransmit, self._timeout):
            if timer is not None:
                timer.cancel()


class TransactionLayer:
    """The live transactions, matched by branch, with the agent's outbox and timers."""

    def __init__(self, timers: Timers, send: Send) -> None:
        self.timers = timers
        self.send = send
        self.clients: dict[tuple[str, str], ClientTransaction] = {}
        self.servers: dict[tuple[str, ...], ServerTransaction] = {}

    def start_client(
        self,
        request: SipRequest,
        dest: Address,
        on_response: Callable[[SipResponse], None],
        on_timeout: Callable[[], None],
    ) -> ClientTransaction:
        """Send ``request`` in a new client transaction."""
        transaction = ClientTransaction(self, request, dest, on_response, on_timeout)
        self.clients[transaction.key] = transaction
        return transaction

    def match_response(self, response: SipResponse) -> ClientTransaction | None:
        """The client transaction a response belongs to (the caller has validated Via and CSeq)."""
        return self.clients.get(client_key(response))

    def match_request(self, request: SipRequest) -> ServerTransaction | None:
        """The server transaction a retransmitted request (or an ACK to a non-2xx) belongs to."""
        method = "INVITE" if request.method == "ACK" else request.method
        return self.servers.get(server_key(request, method))

    def match_cancelled(self, cancel: SipRequest) -> ServerTransaction | None:
        """The INVITE server transaction a CANCEL targets."""
        return self.servers.get(server_key(cancel, "INVITE"))

    def start_server(self, request: SipRequest, source: Address) -> ServerTransaction:
        """A server transaction for a new request."""
        transaction = ServerTransaction(self, request, source, server_key(request, request.method))
        self.servers[transaction.key] = transaction
        return transaction

    def forget_client(self, transaction: ClientTransaction) -> None:
        if self.clients.get(transaction.key) is transaction:
            del self.clients[transaction.key]

    def forget_server(self, transaction: ServerTransaction) -> None:
        if self.servers.get(transaction.key) is transaction:
            del self.servers[transaction.key]


def client_key(message: SipRequest | SipResponse) -> tuple[str, str]:
    """(branch, CSeq method) of a message's top Via."""
    via = Via.parse(message.headers.get_all("Via")[0])
    return via.branch or "", cseq(message.headers)[1]


def server_key(request: SipRequest, method: str) -> tuple[str, ...]:
    """RFC 3261 §17.2.3 matching key; RFC 2543 peers without the magic cookie get the old-style key."""
    headers = request.headers
    via = Via.parse(headers.get_all("Via")[0])
    sent_by = f"{via.host}:{via.port or 5060}".lower()
    branch = via.branch or ""
    if branch.startswith(MAGIC_COOKIE):
        return branch, sent_by, method
    # Old-style: Call-ID, From tag, CSeq number and the top Via identify the transaction.
    from_value = headers.get("From") or ""
    return headers.get("Call-ID") or "", from_value, str(cseq(headers)[0]), str(via), method


def ack_for_final(invite: SipRequest, response: SipResponse) -> SipRequest:
    """The ACK for a non-2xx final response to ``invite`` (RFC 3261 §17.1.1.3): same branch, To from the response."""
    source = invite.headers
    headers = Headers([("Via", source.get_all("Via")[0])])
    for route in source.get_all("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", "70")
    headers.add("From", source.get("From") or "")
    headers.add("To", response.headers.get("To") or source.get("To") or "")
    headers.add("Call-ID", source.get("Call-ID") or "")
    headers.add("CSeq", f"{cseq(source)[0]} ACK")
    return SipRequest("ACK", invite.uri, headers)
