"""Shared fixtures: the speech engines load once per test session (they are thread-safe)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that runs real models or real peers is re-run once if it fails.

    Piper's synthesis is random (noise_scale) and Whisper hears synthesized voices slightly differently
    from run to run on a busy 2-core box ("Hi Dana" as "Haidena"); a real fault fails the rerun too,
    and pytest's summary lists every rerun.
    """
    for item in items:
        if "engines" in getattr(item, "fixturenames", ()) or item.get_closest_marker("integration"):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=1))


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
