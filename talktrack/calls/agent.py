"""An agent on disk: a folder with playbook.yaml (and optionally context.yaml), plus its audio cache."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from talktrack.brain.context import CallContext, load_context
from talktrack.brain.playbook import Playbook, load_playbook
from talktrack.errors import ConfigError
from talktrack.speech.phrase_cache import PhraseCache
from talktrack.speech.tts_piper import PiperTTS


def bundled_agent_dir(name: str = "backbeam") -> Path:
    """Folder of an agent that ships with talktrack."""
    return Path(str(resources.files("talktrack.data").joinpath("agents", name)))


@dataclass
class Agent:
    """A playbook with its identity; ``cache`` holds its pre-synthesized phrases."""

    agent_id: str
    path: Path
    playbook: Playbook

    @classmethod
    def load(cls, path: Path) -> Agent:
        """Load an agent folder (or a playbook file); errors name the file and the fix."""
        path = Path(path)
        playbook_file = path / "playbook.yaml" if path.is_dir() else path
        if path.is_dir() and not playbook_file.is_file():
            raise ConfigError(
                f"{path}: no playbook.yaml in this folder", fix="point at an agent folder or a playbook file"
            )
        playbook = load_playbook(playbook_file)
        return cls(
            agent_id=playbook_file.parent.name if path.is_dir() else playbook_file.stem,
            path=playbook_file.parent,
            playbook=playbook,
        )

    def default_context(self) -> CallContext | None:
        """The sample context shipped next to the playbook, if any."""
        file = self.path / "context.yaml"
        if not file.is_file():
            return None
        return load_context(file)

    def phrase_cache(self, data_dir: Path, tts: PiperTTS, rate: int) -> PhraseCache:
        """This agent's phrase cache for a voice and line rate, persisted under the data directory."""
        directory = data_dir / "cache" / self.agent_id / tts.voice_id.replace(":", "_") / str(rate)
        return PhraseCache(directory, voice_id=tts.voice_id, rate=rate)


# Context fields a carrier parameter, SIP header or API request may carry.
CONTEXT_FIELDS = ("prospect_name", "company", "history", "goal", "language", "timezone", "phone", "email")


class AgentDirectory:
    """Agent folders by id under one root, loaded once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._loaded: dict[str, Agent] = {}

    def get(self, agent_id: str) -> Agent:
        """The agent of that id; ConfigError when there is none."""
        if agent_id not in self._loaded:
            folder = (self.root / agent_id).resolve()
            if folder.parent != self.root.resolve():
                raise ConfigError(f"agent id {agent_id!r} is not a plain name", fix="use the agent folder's name")
            self._loaded[agent_id] = Agent.load(folder)
        return self._loaded[agent_id]

    def ids(self) -> list[str]:
        """Ids of the agents in the folder (sub-folders with a playbook.yaml)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "playbook.yaml").is_file())


def parse_routes(text: str) -> dict[str, str]:
    """``"1001=backbeam,+1312...=backbeam"`` → {called number or user: agent id}; ConfigError on junk."""
    routes: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        called, sep, agent_id = item.partition("=")
        if not sep or not called.strip() or not agent_id.strip():
            raise ConfigError(
                f"TALKTRACK_AGENT_ROUTES: {item!r} is not 'called-number=agent-id'",
                fix="write routes like 1001=backbeam,+13125550100=backbeam",
            )
        routes[called.strip()] = agent_id.strip()
    return routes


def routed_agent_id(routes: Mapping[str, str], default: str | None, called: str) -> str | None:
    """The agent for a called number or SIP user: its route, else the default (None: refuse the call)."""
    return routes.get(called) or default


def call_context(agent: Agent, given: Mapping[str, str], source: str) -> CallContext:
    """The agent's sample context overridden by what the call carries (``source`` names it in errors)."""
    base = agent.default_context()
    values = {k: v for k, v in given.items() if k in CONTEXT_FIELDS and v}
    if base is None:
        return CallContext.from_mapping(values, source=source)
    merged = {**{f: getattr(base, f) for f in CONTEXT_FIELDS}, **values}
    return CallContext.from_mapping({**merged, "extra": dict(base.extra)}, source=source)
