"""Scenario files for the scripted prospect: what they say, when they interrupt, when they hang up."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from talktrack.errors import ConfigError


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Say(_Step):
    """Speak a line (synthesized with the prospect's voice) or play a WAV file."""

    say: str | None = None
    say_wav: Path | None = None
    barge_in_after_ms: int | None = Field(default=None, ge=0, le=20000)
    expect: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Say:
        if (self.say is None) == (self.say_wav is None):
            raise ValueError("give exactly one of say (text) or say_wav (a WAV path)")
        return self


class WaitAgent(_Step):
    """Wait until the agent has spoken and gone quiet."""

    wait_agent: bool = True
    quiet_ms: int = Field(default=700, ge=100, le=5000)
    timeout_s: float = Field(default=15.0, gt=0, le=120)


class Silence(_Step):
    """Say nothing for a while."""

    silence: float = Field(gt=0, le=120)


class Noise(_Step):
    """A non-speech sound: a cough, a door slam or breathing."""

    noise: Literal["cough", "door", "breath"]


class WaitKeys(_Step):
    """Wait until the agent has pressed these keys (heard as DTMF on the line), as a phone menu does."""

    wait_keys: str = Field(pattern=r"^[0-9*#A-D]+$")
    timeout_s: float = Field(default=15.0, gt=0, le=120)


class Hangup(_Step):
    """Hang up the phone."""

    hangup: bool = True


Step = Say | WaitAgent | WaitKeys | Silence | Noise | Hangup
_STEP_KEYS: dict[str, type[_Step]] = {
    "say": Say,
    "say_wav": Say,
    "wait_agent": WaitAgent,
    "wait_keys": WaitKeys,
    "silence": Silence,
    "noise": Noise,
    "hangup": Hangup,
}


class Voice(BaseModel):
    """The prospect's voice, deliberately unlike the agent's.

    ``piper`` (default) is the Piper voice slowed down and pitched up, which Whisper
    transcribes about as well as a person on a phone line; ``espeak`` is espeak-ng,
    robotic enough that tiny.en mishears a third of its words at 8 kHz.
    """

    model_config = ConfigDict(extra="forbid")
    engine: Literal["piper", "espeak"] = "piper"
    length_scale: float = Field(default=1.1, gt=0.5, lt=2.0)
    pitch: float = Field(default=1.12, gt=0.7, lt=1.4)
    voice: str = "en-us+f3"
    rate_wpm: int = Field(default=165, ge=80, le=400)


class Scenario(BaseModel):
    """A scripted prospect."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    context: dict[str, Any] | None = None
    voice: Voice = Voice()
    steps: list[Step]
    # What must be true when the call ends (outcome, booking, e-mails): read by `talktrack bench dialogue`.
    dialogue: dict[str, Any] | None = None
    source: Path | None = None


def _parse_step(raw: Any, index: int, file: Path) -> Step:
    if isinstance(raw, str) and raw in ("wait_agent", "hangup"):
        raw = {raw: True}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{file}: steps[{index}] must be a mapping like {{say: 'Hello?'}}", fix="see docs/scenarios.md"
        )
    kind = next((k for k in raw if k in _STEP_KEYS), None)
    if kind is None:
        raise ConfigError(
            f"{file}: steps[{index}] has none of the step keys ({', '.join(sorted(_STEP_KEYS))})",
            fix="start the step with one of those keys",
        )
    try:
        return _STEP_KEYS[kind].model_validate(raw)  # type: ignore[return-value]
    except ValidationError as exc:
        raise ConfigError(f"{file}: steps[{index}]: {_first_error(exc)}", fix="see docs/scenarios.md") from exc


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


def load_scenario(file: Path) -> Scenario:
    """Read and validate a scenario YAML file; errors name the file, the step and the fix."""
    file = Path(file)
    try:
        data = yaml.safe_load(file.read_text())
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the scenario ({exc.strerror})", fix="check the path") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML ({exc})", fix="fix the YAML syntax") from exc
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list) or not data["steps"]:
        raise ConfigError(f"{file}: a scenario needs a name and a non-empty list of steps", fix="see docs/scenarios.md")
    steps = [_parse_step(raw, i, file) for i, raw in enumerate(data["steps"])]
    for step in steps:
        if isinstance(step, Say) and step.say_wav is not None and not step.say_wav.is_absolute():
            step.say_wav = (file.parent / step.say_wav).resolve()
    try:
        return Scenario.model_validate({**data, "steps": steps, "source": file})
    except ValidationError as exc:
        raise ConfigError(f"{file}: {_first_error(exc)}", fix="see docs/scenarios.md") from exc
