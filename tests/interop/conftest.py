"""Interop tests share one data folder, so the agent's phrase cache is synthesized once for all of them."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def interop_data(tmp_path_factory):
    return tmp_path_factory.mktemp("interop-data")


@pytest.fixture
def settings(interop_data):
    from talktrack.settings import Settings

    return Settings(data_dir=interop_data, listen_first_s=1.0, reprompt_after_s=3.0)
