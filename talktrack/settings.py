"""One typed settings object; every field can be set as TALKTRACK_<NAME>."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime settings (environment variables ``TALKTRACK_*`` or a ``.env`` file)."""

    model_config = SettingsConfigDict(env_prefix="TALKTRACK_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./talktrack-data")
    # Speech
    stt_window_s: float = 10.0
    stt_threads: int = 1
    stt_workers: int = 2
    whisper_model_dir: Path | None = None
    piper_voice: Path | None = None
    # Turn taking
    vad_start_s: float = 0.1
    vad_stop_s: float = 0.16
    turn_max_wait_s: float = 0.7
    # Telephony
    agents_dir: Path | None = None  # folders with playbook.yaml; default: the bundled agents
    public_url: str | None = None  # https://host as Twilio reaches us (for TwiML and signatures)
    twilio_auth_token: str | None = None  # when set, webhooks without a valid signature get 403
    twilio_account_sid: str | None = None
    twilio_from_number: str | None = None  # the Twilio number outbound calls come from (E.164)
    twilio_api_base_url: str | None = None  # another REST endpoint speaking Twilio's API (tests, regions)
    telnyx_api_key: str | None = None  # v2 API key (Bearer) to dial, answer, hang up and send keys
    telnyx_public_key: str | None = None  # base64 ed25519 key from the portal; when set, bad/stale webhooks get 403
    telnyx_connection_id: str | None = None  # Call Control application id outbound calls use
    telnyx_from_number: str | None = None  # the Telnyx number outbound calls come from (E.164)
    telnyx_api_base_url: str | None = None  # another endpoint speaking Telnyx's API (tests); host only, no /v2
    # Inbound routing for every transport: called number or SIP user -> agent id, else the default agent.
    agent_routes: str = ""  # "1001=backbeam,+13125550100=backbeam"
    default_agent: str | None = "backbeam"  # unset: calls to numbers not in agent_routes are refused
    # SIP (our own edge: inbound calls to `talktrack serve`, outbound through a trunk)
    sip_enabled: bool = True  # `talktrack serve` also listens for SIP
    sip_host: str = "127.0.0.1"  # address to bind SIP and RTP to
    sip_port: int = 5060
    sip_public_host: str | None = None  # the address peers should send SIP and RTP to (behind NAT)
    sip_trunk: str | None = None  # host[:port] of the trunk or proxy outbound calls go through
    sip_username: str | None = None  # digest credentials for the trunk
    sip_password: str | None = None
    sip_caller_id: str = "talktrack"  # the From user of outbound calls (often your number)
    sip_register: bool = False  # `talktrack serve` registers with the trunk so it sends inbound calls here
    # WebRTC softphone
    webrtc_loopback_only: bool = False  # offer only 127.0.0.1 ICE candidates (tests in a private network namespace)
    # Conversation
    listen_first_s: float = 2.0
    reprompt_after_s: float = 6.0
    hold_after_s: float = 0.7  # a reply still waiting on a tool (a slow calendar) by then: "One moment..."
    brain: str = "playbook"  # "playbook" (the embedded engine) or "llm" (with the engine as its fallback)
    # LLM brain: any OpenAI-compatible chat-completions endpoint
    llm_base_url: str = "http://127.0.0.1:8080/v1"
    llm_api_key: str = "not-needed"
    llm_model: str = "gpt-4o-mini"
    llm_first_token_timeout_s: float = 1.2  # no first words by then: the playbook engine answers this turn
    # Booking: the host calendar (any CalDAV server) and the mail server for invites and follow-ups
    caldav_url: str | None = None  # e.g. https://caldav.fastmail.com/dav/ ; unset: the agent asks for the meeting only
    caldav_username: str | None = None
    caldav_password: str | None = None
    caldav_calendar: str | None = None  # calendar name; unset: the account's first calendar
    calendar_timeout_s: float = 3.0
    smtp_host: str | None = None  # unset: e-mails are only written to the outbox
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    mail_from: str | None = None  # the From address; default: the playbook's booking host
    # Knowledge base: product documents the agent answers from
    knowledge_url: str | None = None  # "postgresql://..." to scale out; unset: SQLite at <data_dir>/knowledge.db
    tenant: str = "default"  # whose knowledge bases calls use
    knowledge_min_similarity: float = 0.35  # below it the agent abstains ("I'll have someone e-mail you")


def get_settings() -> Settings:
    """Return settings read from the environment."""
    return Settings()
