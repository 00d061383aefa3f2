"""Errors a person can act on: each names the bad input and the fix."""

from __future__ import annotations


class TalkTrackError(Exception):
    """Base for every error talktrack reports to a user without a traceback."""

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(message if not fix else f"{message}\n  fix: {fix}")


class ConfigError(TalkTrackError):
    """A playbook, scenario or settings file is invalid."""


class MediaError(TalkTrackError):
    """An audio file cannot be read or has an unusable format."""


class ModelMissingError(TalkTrackError):
    """A speech model is not installed where talktrack looks for it."""
