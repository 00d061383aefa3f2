"""The LLM splitter against an OpenAI-compatible endpoint on loopback: the script's own words only."""

from __future__ import annotations

import asyncio
import json

import pytest

from talktrack.builder.llm_split import llm_splitter
from talktrack.builder.pdf_text import ScriptText, read_pdf_text
from talktrack.builder.samples import SAMPLES_DIR, render_script_pdf
from talktrack.builder.script import split_sections
from talktrack.testing.fake_llm import FakeLlmServer, garbage, http_error, text


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> ScriptText:
    pdf = render_script_pdf(SAMPLES_DIR / "script.md", tmp_path_factory.mktemp("script") / "script.pdf")
    return read_pdf_text(pdf)


REPLY = {
    "company": "Backbeam",
    "opener": "Hi [First name], it's [Your name] from Backbeam. I'm calling about Salesforce backups at [Company].",
    "permission": "Did I catch you at an okay time?",
    "pitch": "We back up every SaaS app in the world and never lose a byte.",  # not in the script
    "questions": [{"ask": "How are you backing up your Salesforce data today?"}],
    "objections": [
        {
            "prospect_says": ["Not interested", "no thanks"],
            "response": "Understood. Thanks for your time, and have a great day!",
        }
    ],
    "faq": [],
    "pricing": [],
    "close": {},
}


async def _split(llm: FakeLlmServer, script: ScriptText):
    split = llm_splitter(llm.base_url, "key", "fake-model", timeout_s=10.0)
    return await asyncio.to_thread(split, script)  # the splitter is synchronous; the server runs in this loop


async def test_the_models_parts_are_used_where_they_are_the_scripts_words(script: ScriptText) -> None:
    async with FakeLlmServer() as llm:
        llm.script(text(json.dumps(REPLY)))
        sections = await _split(llm, script)
        request = llm.requests[0]
    assert request["response_format"] == {"type": "json_object"}
    assert "Discovery questions" in request["messages"][1]["content"]
    assert sections.lines["opener"].startswith("Hi {first_name}, it's {agent_name} from Backbeam.")
    assert [q.ask for q in sections.questions] == ["How are you backing up your Salesforce data today?"]
    [objection] = sections.objections
    assert objection.intent == "not_interested" and objection.end_call
    # The invented pitch is dropped and said so; the heuristics' pitch stands in.
    assert any("dropped pitch" in w for w in sections.warnings)
    assert sections.lines["pitch"] == split_sections(script).lines["pitch"]
    # Parts the model left empty come from the headings.
    assert sections.faq == split_sections(script).faq


@pytest.mark.parametrize("failure", [http_error(500), garbage()], ids=["http-500", "garbage"])
async def test_a_failing_endpoint_falls_back_to_the_headings(script: ScriptText, failure) -> None:
    async with FakeLlmServer() as llm:
        llm.script(failure)
        llm.script(failure)  # the client retries once
        sections = await _split(llm, script)
    heuristic = split_sections(script)
    assert sections.lines == heuristic.lines and len(sections.objections) == len(heuristic.objections)
    assert any("the LLM did not split the script" in w for w in sections.warnings)


def test_an_unreachable_endpoint_falls_back_too(script: ScriptText) -> None:
    split = llm_splitter("http://127.0.0.1:9/v1", "", "fake-model", timeout_s=2.0)
    sections = split(script)
    assert sections.lines == split_sections(script).lines
    assert any("APIConnectionError" in w for w in sections.warnings)
