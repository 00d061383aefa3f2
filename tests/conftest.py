"""Shared fixtures: the speech engines load once per test session (they are thread-safe)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def engines():
    from talktrack.calls.engines import SpeechEngines
    from talktrack.settings import Settings

    return SpeechEngines.load(Settings())


@pytest.fixture
def settings(tmp_path):
    from talktrack.settings import Settings

    # Short timers keep the silence tests quick; the behaviour is the same.
    return Settings(data_dir=tmp_path / "data", listen_first_s=1.0, reprompt_after_s=1.5)
