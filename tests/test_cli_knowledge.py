"""`talktrack knowledge …`: add, list, ask and remove through the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from talktrack.calls.agent import bundled_agent_dir
from talktrack.cli import main

DOCS = bundled_agent_dir() / "knowledge"


def test_add_list_ask_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert main(["knowledge", "add", str(DOCS / "pricing.html"), str(DOCS / "product-faq.md"), *data]) == 0
    assert "2 added" in capsys.readouterr().out
    assert main(["knowledge", "list", *data]) == 0
    listing = capsys.readouterr().out
    assert "pricing.html  html" in listing and "product-faq.md  markdown" in listing
    assert main(["knowledge", "ask", "How much does the Starter plan cost?", *data]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0] == "Starter costs $4 per user per month."
    assert "pricing.html" in said[1]
    assert main(["knowledge", "remove", "pricing.html", *data]) == 0
    assert main(["knowledge", "list", *data]) == 0
    assert "pricing.html" not in capsys.readouterr().out.split("removed pricing.html")[-1]
    assert main(["knowledge", "ask", "How much does the Starter plan cost?", *data]) == 0
    assert "$4" not in capsys.readouterr().out  # the price was only in the removed page


def test_a_bad_file_fails_the_command_but_the_rest_goes_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "whitepaper.pdf"
    broken.write_bytes(b"%PDF-1.4 truncated")
    code = main(["knowledge", "add", str(broken), str(DOCS / "product-faq.md"), "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "1 added" in out and "whitepaper.pdf" in out


def test_removing_an_unknown_document_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["knowledge", "remove", "nothing.pdf", "--data-dir", str(tmp_path)]) == 2
    assert "no document named 'nothing.pdf'" in capsys.readouterr().err


def test_a_bad_store_url_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TALKTRACK_KNOWLEDGE_URL", "mysql://root@localhost/kb")
    assert main(["knowledge", "list", "--data-dir", str(tmp_path)]) == 2
    assert "mysql://" in capsys.readouterr().err
