"""The agent builder: a playbook drafted from a sales-script PDF and call recordings."""

from talktrack.builder.build import build_agent
from talktrack.builder.errors import BuildError
from talktrack.builder.learn import Learned, learn, merge
from talktrack.builder.report import BuildReport
from talktrack.builder.script import ScriptSections, Splitter, read_script, split_sections
from talktrack.builder.transcript import Transcript, Utterance

__all__ = [
    "BuildError",
    "BuildReport",
    "Learned",
    "ScriptSections",
    "Splitter",
    "Transcript",
    "Utterance",
    "build_agent",
    "learn",
    "merge",
    "read_script",
    "split_sections",
]
