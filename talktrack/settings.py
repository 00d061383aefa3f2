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
    # Conversation
    listen_first_s: float = 2.0
    reprompt_after_s: float = 6.0


def get_settings() -> Settings:
    """Return settings read from the environment."""
    return Settings()
