"""An agent on disk: a folder with playbook.yaml (and optionally context.yaml), plus its audio cache."""

from __future__ import annotations

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

    def warm(self, cache: PhraseCache, tts: PiperTTS) -> int:
        """Synthesize every fixed line the playbook has (once; later runs load them from disk)."""
        rate = cache.rate
        return cache.warm(self.playbook.fixed_lines(), lambda text: tts.synthesize_at(text, rate))
