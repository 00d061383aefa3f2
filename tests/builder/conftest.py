"""The sample script rendered to PDF once per session; the builder tests read it like a user's file."""

from __future__ import annotations

from pathlib import Path

import pytest

from talktrack.builder.samples import SAMPLES_DIR, render_script_pdf


@pytest.fixture(scope="session")
def script_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_script_pdf(SAMPLES_DIR / "script.md", tmp_path_factory.mktemp("script") / "script.pdf")


@pytest.fixture(scope="session")
def script_md() -> str:
    return (SAMPLES_DIR / "script.md").read_text(encoding="utf-8")
