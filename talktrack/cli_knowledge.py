"""`talktrack knowledge …` and `talktrack agent …`: an agent's documents, and agents built from a script."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from talktrack.errors import ConfigError
from talktrack.settings import Settings

if TYPE_CHECKING:
    from talktrack.knowledge.library import Library


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the knowledge and agent commands."""
    knowledge = sub.add_parser("knowledge", help="an agent's documents: add, list, ask, remove")
    kb = knowledge.add_subparsers(dest="action", required=True)
    add = kb.add_parser("add", help="ingest documents (PDF, DOCX, Markdown, HTML, text, call transcripts)")
    add.add_argument("files", type=Path, nargs="+")
    ask = kb.add_parser("ask", help="what the agent would say to a question, and the passages behind it")
    ask.add_argument("question")
    listing = kb.add_parser("list", help="the documents in the knowledge base")
    remove = kb.add_parser("remove", help="forget a document")
    remove.add_argument("source", help="the document's name, as `list` shows it")
    for parser in (add, ask, listing, remove):
        parser.add_argument("--agent", default="backbeam", help="the knowledge base's agent id (default backbeam)")
        parser.add_argument("--data-dir", type=Path, default=None, help="data directory (default TALKTRACK_DATA_DIR)")
    knowledge.set_defaults(func=_cmd_knowledge)

    agent = sub.add_parser("agent", help="build an agent from a sales-script PDF, call recordings and documents")
    ag = agent.add_subparsers(dest="action", required=True)
    build = ag.add_parser("build", help="draft playbook.yaml and a knowledge base into --out")
    build.add_argument("--script", type=Path, required=True, help="the sales script (PDF)")
    build.add_argument("--recordings", type=Path, nargs="*", default=[], help="call recordings (WAV)")
    build.add_argument("--docs", type=Path, nargs="*", default=[], help="product documents for the knowledge base")
    build.add_argument("--out", type=Path, required=True, help="the new agent folder")
    build.add_argument("--company", default=None, help="the company name (default: read from the script)")
    build.add_argument("--name", default=None, help="the agent's first name (default: read from the script)")
    build.add_argument("--data-dir", type=Path, default=None, help="data directory (default TALKTRACK_DATA_DIR)")
    build.add_argument(
        "--llm",
        action="store_true",
        help="let the LLM endpoint (TALKTRACK_LLM_BASE_URL, _MODEL, _API_KEY) sort the script; headings otherwise",
    )
    samples = ag.add_parser("samples", help="write the bundled sample script PDF, call recordings and documents")
    samples.add_argument("out", type=Path, help="folder to write them to")
    agent.set_defaults(func=_cmd_agent)


def _settings(data_dir: Path | None) -> Settings:
    settings = Settings()
    return settings.model_copy(update={"data_dir": data_dir}) if data_dir else settings


def _cmd_knowledge(args: argparse.Namespace) -> int:
    from talktrack.knowledge.embedder import EmbedderError
    from talktrack.knowledge.library import Library, default_url
    from talktrack.knowledge.store import StoreError

    settings = _settings(args.data_dir)
    library = Library(settings.knowledge_url or default_url(settings.data_dir))
    try:
        return _knowledge(args, library, settings)
    except (StoreError, EmbedderError) as exc:
        raise ConfigError(str(exc)) from None
    finally:
        library.close()


def _knowledge(args: argparse.Namespace, library: Library, settings: Settings) -> int:
    from talktrack.knowledge.answer import Answerer

    kb = library.base(settings.tenant, args.agent)
    if args.action == "add":
        report = kb.add_files(args.files, progress=True)
        print(report.summary())
        return 1 if report.errors else 0
    if args.action == "list":
        docs = kb.documents()
        if not docs:
            print(f"agent {args.agent}: no documents (add some with `talktrack knowledge add FILE…`)")
        for info in docs:
            print(f"{info.source}  {info.kind}  {info.chunks} chunks  added {info.added}  {info.title}")
        return 0
    if args.action == "remove":
        if not kb.remove(args.source):
            raise ConfigError(f"agent {args.agent}: no document named {args.source!r}", fix="see `knowledge list`")
        print(f"removed {args.source}")
        return 0
    company = _company(settings, args.agent)
    result = Answerer(kb, company=company, min_similarity=settings.knowledge_min_similarity).answer(args.question)
    print(result.answer.text if result.answer else f"(the agent abstains: {result.reason})")
    for hit in result.hits:
        print(f"  {hit.similarity or 0:.2f}  {hit.chunk.citation}: {hit.chunk.text[:100]}")
    return 0


def _company(settings: Settings, agent_id: str) -> str | None:
    """The agent's company name, so answers say "we"; None when the agent folder is not found."""
    from talktrack.calls.agent import AgentDirectory, bundled_agent_dir

    try:
        return AgentDirectory(settings.agents_dir or bundled_agent_dir().parent).get(agent_id).playbook.company.name
    except ConfigError:
        return None


def _cmd_agent(args: argparse.Namespace) -> int:
    if args.action == "samples":
        from talktrack.builder.samples import render_samples
        from talktrack.calls.agent import bundled_agent_dir

        render_samples(args.out)
        docs = args.out / "docs"
        docs.mkdir(exist_ok=True)
        for doc in sorted((bundled_agent_dir() / "knowledge").iterdir()):
            shutil.copyfile(doc, docs / doc.name)
        for path in sorted(p for p in args.out.rglob("*") if p.is_file()):
            print(path)
        return 0
    from talktrack.builder import build_agent
    from talktrack.knowledge.library import Library, default_url

    settings = _settings(args.data_dir)
    splitter = None
    if args.llm:
        from talktrack.builder.llm_split import llm_splitter

        splitter = llm_splitter(settings.llm_base_url, settings.llm_api_key, settings.llm_model)
    report = build_agent(
        args.script,
        args.recordings,
        args.docs,
        args.out,
        company=args.company,
        agent_name=args.name,
        progress=True,
        cache_dir=settings.data_dir,
        splitter=splitter,
    )
    print(report.summary())
    folder = args.out / "knowledge"
    if folder.is_dir() and any(folder.iterdir()):
        library = Library(settings.knowledge_url or default_url(settings.data_dir))
        try:
            ingest = library.base(settings.tenant, args.out.name).sync_folder(folder, progress=True)
        finally:
            library.close()
        print(f"knowledge base '{args.out.name}': {ingest.summary()}")
    print(f"run it: talktrack demo --agent {args.out}", file=sys.stderr)
    return 0
