"""The one error the agent builder raises for inputs a person can fix."""

from __future__ import annotations

from talktrack.errors import TalkTrackError


class BuildError(TalkTrackError):
    """A builder input (script, recording, document, output folder) cannot be used; names the file."""
