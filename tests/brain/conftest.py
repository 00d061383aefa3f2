"""The bundled sample agent's playbook and call context, shared by the brain tests."""

from __future__ import annotations

import pytest

from talktrack.brain.context import CallContext, load_context
from talktrack.brain.playbook import BUNDLED_AGENTS_DIR, Playbook, bundled_playbook, load_playbook


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    return load_playbook(bundled_playbook())


@pytest.fixture(scope="module")
def context() -> CallContext:
    return load_context(BUNDLED_AGENTS_DIR / "backbeam" / "context.yaml")
