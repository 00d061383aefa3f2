"""Registering with a trunk's registrar (RFC 3261 §10): REGISTER, digest retry, 423, and timely refresh."""

from __future__ import annotations

from dataclasses import dataclass, field

from talktrack.telephony.sip.core import AgentCore, is_stale
from talktrack.telephony.sip.events import Registered, RegistrationFailed
from talktrack.telephony.sip.message import SipRequest, SipResponse
from talktrack.telephony.sip.syntax import SipParseError
from talktrack.telephony.sip.transactions import Timer
from talktrack.telephony.sip.uri import NameAddr, SipUri

Address = tuple[str, int]


@dataclass(eq=False)
class Registration:
    """One binding at one registrar; its Call-ID stays the same across refreshes (RFC 3261 §10.2)."""

    registrar: SipUri
    call_id: str
    from_tag: str
    dest: Address
    expires: int
    cseq: int = 0
    auth_attempts: int = 0
    interval_retried: bool = False
    request: SipRequest | None = None
    refresh: Timer | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return str(self.registrar)


class Registrations:
    """The agent's registrations, keyed by registrar URI."""

    def __init__(self, core: AgentCore) -> None:
        self.core = core
        self._by_key: dict[str, Registration] = {}

    def register(self, registrar: str | SipUri, *, proxy: Address | None, expires: int) -> str:
        """Send a REGISTER (``expires=0`` removes the binding); returns the registration's Call-ID."""
        if expires < 0:
            raise ValueError(f"expires must be 0 or more, got {expires}")
        uri = registrar if isinstance(registrar, SipUri) else SipUri.parse(registrar)
        uri = SipUri(uri.scheme, None, uri.host, uri.port, uri.params)  # a registrar's Request-URI has no user
        core = self.core
        reg = self._by_key.get(str(uri))
        if reg is None:
            reg = Registration(uri, f"{core.token(24)}@{core.host}", core.token(10), proxy or uri.address, expires)
            self._by_key[reg.key] = reg
        reg.dest, reg.expires = proxy or uri.address, expires
        reg.auth_attempts, reg.interval_retried = 0, False
        if reg.refresh is not None:
            reg.refresh.cancel()
        self._send(reg, self._request(reg))
        return reg.call_id

    def _request(self, reg: Registration) -> SipRequest:
        core = self.core
        reg.cseq += 1
        aor = NameAddr(core.display_name, SipUri("sip", core.user, core.aor_domain(reg.registrar), None))
        return core.request(
            "REGISTER",
            str(reg.registrar),
            from_=str(aor.with_tag(reg.from_tag)),
            to=str(aor),
            call_id=reg.call_id,
            cseq_number=reg.cseq,
            contact=core.contact(),
            allow=True,
            extra=[("Expires", str(reg.expires))],
        )

    def _send(self, reg: Registration, request: SipRequest) -> None:
        reg.request = request
        self.core.layer.start_client(
            request, reg.dest, lambda response: self._on_response(reg, request, response), lambda: self._timeout(reg)
        )

    def _timeout(self, reg: Registration) -> None:
        self.core.emit(RegistrationFailed(reg.key, 408, "Request Timeout"))

    def _on_response(self, reg: Registration, request: SipRequest, response: SipResponse) -> None:
        status = response.status
        if status < 200 or request is not reg.request:
            return
        core = self.core
        if 200 <= status < 300:
            expires = _granted(response, core.contact(), reg.expires)
            core.emit(Registered(reg.key, expires))
            if expires > 0:
                # Refresh well before the binding lapses: halfway for short ones, a minute early otherwise.
                delay = expires / 2 if expires < 120 else expires - 60
                reg.refresh = core.timers.start(delay, lambda: self._refresh(reg))
            return
        if status in (401, 407) and (reg.auth_attempts == 0 or (reg.auth_attempts == 1 and is_stale(response))):
            reg.cseq += 1
            retry = core.authorize(request, response, reg.cseq)
            if retry is not None:
                reg.auth_attempts += 1
                self._send(reg, retry)
                return
        if status == 423 and not reg.interval_retried:
            minimum = response.headers.get("Min-Expires") or ""
            if minimum.isdigit() and minimum.isascii() and int(minimum) > reg.expires:
                reg.expires, reg.interval_retried = int(minimum), True
                self._send(reg, self._request(reg))
                return
        core.emit(RegistrationFailed(reg.key, status, response.reason))

    def _refresh(self, reg: Registration) -> None:
        reg.auth_attempts, reg.interval_retried = 0, False
        self._send(reg, self._request(reg))


def _granted(response: SipResponse, our_contact: str, requested: int) -> int:
    """The expiry the registrar granted: our Contact's ``expires``, else the Expires header, else what we asked."""
    ours = NameAddr.parse(our_contact).uri
    for value in response.headers.get_all("Contact"):
        try:
            contact = NameAddr.parse(value)
        except SipParseError:
            continue
        expires = contact.param("expires")
        uri = contact.uri
        same = (uri.user, uri.host.lower(), uri.port) == (ours.user, ours.host.lower(), ours.port)
        if same and expires is not None and expires.isdigit() and expires.isascii():
            return int(expires)
    header = response.headers.get("Expires") or ""
    return int(header) if header.isdigit() and header.isascii() else requested
