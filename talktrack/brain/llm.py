"""The LLM brain: any OpenAI-compatible chat-completions endpoint, streamed clause by clause.

Rules it keeps:

* Never dead air. Each request must yield a clause or a tool call within ``first_token_timeout_s``
  (and keep producing within that gap afterwards); a request that does not, or any endpoint error,
  before the first clause is out, is answered by the playbook brain instead. After a clause is out,
  a stall or an error just ends the turn with what was said.
* Grounding. On a product question (the playbook matcher says ``faq:*`` or ``unknown_question``) text
  is held back until search_knowledge has returned passages in this turn: a final answer without them
  becomes the playbook's abstain line, and so does any clause naming a number found in none of the
  passages, the prospect's words or the call context. Text that came before a tool call in such a turn
  is dropped (it was said before the facts were known). Abstaining notes the question for a follow-up.
* Ending. end_call marks the turn's outcome. When it came before the first clause (tool calls precede
  text in practice) ``Reply.action`` is "end_call"; in every case ``pending_end`` holds the outcome
  once ``Reply.more`` is drained or closed. end_call before any text ends the turn on the playbook goodbye.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, cast

from openai import AsyncOpenAI, omit
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolUnionParam

from talktrack.brain.base import OUTCOME_PROSPECT_ENDED, HistoryTurn, Reply
from talktrack.brain.context import CallContext
from talktrack.brain.engine import PlaybookBrain
from talktrack.brain.playbook import Playbook
from talktrack.brain.prompt import system_prompt
from talktrack.knowledge.numbers import numbers_in
from talktrack.speech.clauses import split_clauses
from talktrack.tools.registry import ToolRegistry, ToolResult

Message = dict[str, Any]
_CLOSERS = "\"')]}»”’"
_SOFT_ENDS = ("?", "!", ",", ";", ":", "...", "…", "—", "–", "--")
_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class _Fail:
    reason: str  # "timeout", "error" or "empty"
    detail: str = ""


_Event = str | _Fail | None  # a clause, a failure before any clause, or the end of the turn


class ClauseStream:
    """Cuts streamed text into clauses at , ; : — ? ! and sentence ends, each of at least two words."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> list[str]:
        """Add streamed text; returns the clauses it completed."""
        self._buffer += text
        out: list[str] = []
        while (clause := self._next()) is not None:
            out.append(clause)
        return out

    def flush(self) -> list[str]:
        """The rest, once the stream has ended."""
        out = self.feed(" ")
        rest, self._buffer = self._buffer.strip(), ""
        return [*out, rest] if rest else out

    def _next(self) -> str | None:
        tokens = list(_TOKEN.finditer(self._buffer))
        complete = len(tokens) if self._buffer[-1:].isspace() else len(tokens) - 1
        words = [t.group() for t in tokens]
        for i in range(1, complete):
            if _ends_clause(words, i):
                self._buffer = self._buffer[tokens[i].end() :]
                return " ".join(words[: i + 1])
        return None


def _ends_clause(words: list[str], i: int) -> bool:
    core = words[i].rstrip(_CLOSERS) or words[i]
    if core.endswith(_SOFT_ENDS) or core == "-":
        return True
    if not core.endswith("."):
        return False
    # "works." ends a sentence whatever follows; "Inc." or "No." depend on the next word, so wait for it.
    following = [words[i + 1]] if i + 1 < len(words) else ["And", "and", "5"]
    return all(_sentence_ends(words[: i + 1], after) for after in following)


def _sentence_ends(words: list[str], after: str) -> bool:
    probe = split_clauses(" ".join([*words, after]), first_max_words=len(words) + 1, max_words=len(words) + 1)
    ends, count = set(), 0
    for clause in probe:
        count += len(clause.split())
        ends.add(count)
    return len(words) in ends


@dataclass
class _Call:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class _Turn:
    """One prospect turn while the model answers it; brain state changes wait for the commit."""

    prospect: str
    product: bool
    deadline: float
    allowed: set[str]
    log: dict[str, Any]
    queue: asyncio.Queue[_Event] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    messages: list[Message] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    produced: int = 0
    history_at: int | None = None
    searched: bool = False
    passages: list[str] = field(default_factory=list)
    abstained: str | None = None
    end_outcome: str | None = None
    language: str | None = None
    done: bool = False


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LlmBrain:
    """A brain that lets a chat model talk, with the playbook brain as its safety net."""

    def __init__(
        self,
        playbook: Playbook,
        context: CallContext,
        registry: ToolRegistry,
        *,
        fallback: PlaybookBrain,
        base_url: str,
        api_key: str,
        model: str,
        first_token_timeout_s: float = 1.2,
        turn_timeout_s: float = 8.0,
        max_tool_rounds: int = 3,
        temperature: float = 0.3,
        now: Callable[[], datetime] | None = None,
        client: AsyncOpenAI | None = None,
    ) -> None:
        for name, value in (("first_token_timeout_s", first_token_timeout_s), ("turn_timeout_s", turn_timeout_s)):
            if value <= 0:
                raise ValueError(f"{name}={value}: must be a positive number of seconds")
        if max_tool_rounds < 0:
            raise ValueError(f"max_tool_rounds={max_tool_rounds}: must be 0 or more")
        self.playbook = playbook
        self.context = context
        self.registry = registry
        self.fallback = fallback
        self.model = model
        self.first_token_timeout_s = first_token_timeout_s
        self.turn_timeout_s = turn_timeout_s
        self.max_tool_rounds = max_tool_rounds
        self.temperature = temperature
        self._now = now or _utc_now
        self._owns_client = client is None
        # Local servers ignore the key, but the SDK insists on one.
        self._client = client or AsyncOpenAI(
            base_url=base_url, api_key=api_key or "unused", timeout=turn_timeout_s, max_retries=0
        )
        self.language = context.language
        self.history: list[HistoryTurn] = []
        self.phase = "listening"
        self.outcome: str | None = None
        # The outcome once the model has ended the call; read it after Reply.more is drained.
        self.pending_end: str | None = None
        self.follow_up_questions: list[str] = []
        # The full record of the latest turn (Reply.decision is the part known at the first clause).
        self.last_turn: Mapping[str, object] = MappingProxyType({})
        context_text = " ".join([context.prospect_name, context.company, context.history, context.goal])
        self._context_numbers = numbers_in(f"{context_text} {' '.join(context.extra.values())}")
        self._messages: list[Message] = [self._system_message()]
        self._turn: _Turn | None = None

    # -- playbook lines -------------------------------------------------------------------

    def fixed_lines(self) -> list[str]:
        """The playbook's call-independent lines, for pre-synthesis."""
        return self.fallback.fixed_lines()

    def opener(self) -> Reply:
        """The playbook opener; it also opens the model's conversation as the agent's first message."""
        self._settle()
        if self.phase == "listening":
            self.phase = "opening"
        return self._spoken(self.fallback.opener())

    def hello(self) -> Reply:
        """The playbook's listen-first line."""
        self._settle()
        return self._spoken(self.fallback.hello())

    def on_silence(self, count: int) -> Reply:
        """The playbook's reprompt, then its goodbye."""
        self._settle()
        return self._spoken(self.fallback.on_silence(count))

    # -- a turn ---------------------------------------------------------------------------

    async def respond(self, text: str) -> Reply:
        """Stream the model's answer; returns at the first clause, the rest arrives through ``Reply.more``."""
        await self._close(self._turn)
        spoken = text.strip()
        if self.phase == "listening":
            if spoken:
                self.history.append(HistoryTurn("prospect", spoken))
            return self.opener()
        if self.phase == "ended":
            return Reply("", "ended", "end_call", self.pending_end, "ended")
        match = self.fallback.matcher.match(spoken)
        product = match.intent.startswith("faq:") or match.intent == "unknown_question"
        if spoken:
            self.history.append(HistoryTurn("prospect", spoken))
            self._messages.append({"role": "user", "content": spoken})
        loop = asyncio.get_running_loop()
        started = loop.time()
        prospect_numbers = numbers_in(" ".join(t.text for t in self.history if t.role == "prospect"))
        log: dict[str, Any] = {
            "brain": "llm",
            "model": self.model,
            "matched": match.intent,
            "product_question": product,
            "first_token_ms": None,
            "tool_calls": [],
            "rounds": 0,
            "fallback": None,
        }
        turn = _Turn(spoken, product, started + self.turn_timeout_s, self._context_numbers | prospect_numbers, log)
        turn.task = asyncio.create_task(self._produce(turn, started), name="llm-turn")
        self._turn = turn
        try:
            first = await asyncio.wait_for(turn.queue.get(), timeout=self.turn_timeout_s)
        except TimeoutError:
            first = _Fail("timeout", "no answer within the turn timeout")
        if not isinstance(first, str):
            return await self._fall_back(turn, first or _Fail("empty", "the model said nothing"))
        log["first_clause_ms"] = round((loop.time() - started) * 1000.0, 1)
        self._hand_out(turn, first)
        self.phase = "ended" if turn.end_outcome else "conversation"
        return Reply(
            text=first,
            intent="llm",
            action="end_call" if turn.end_outcome else "continue",
            outcome=turn.end_outcome,
            phase=self.phase,
            decision=MappingProxyType(self._decision(turn) | {"lines": [first]}),
            more=self._more(turn),
        )

    async def _more(self, turn: _Turn) -> AsyncIterator[str]:
        try:
            while not turn.done:
                item = await turn.queue.get()
                if not isinstance(item, str) or turn.done:
                    break
                self._hand_out(turn, item)
                yield item
        finally:
            await self._close(turn)

    async def _fall_back(self, turn: _Turn, fail: _Fail) -> Reply:
        await self._close(turn, commit=False)
        asked = len(self.fallback.follow_up_questions)
        reply = await self.fallback.respond(turn.prospect)
        self.follow_up_questions.extend(self.fallback.follow_up_questions[asked:])
        turn.log |= {"fallback": fail.reason, "error": fail.detail, "grounded": True}
        self._messages.extend(turn.messages)
        self.last_turn = MappingProxyType(self._decision(turn))
        if self.phase != "ended":
            self.phase = "conversation"
        decision = {**reply.decision, **self._decision(turn)}
        return self._spoken(replace(reply, decision=MappingProxyType(decision)))

    # -- the stream -----------------------------------------------------------------------

    async def _produce(self, turn: _Turn, started: float) -> None:
        try:
            for round_no in range(self.max_tool_rounds + 1):
                calls = await self._round(turn, started, tools=round_no < self.max_tool_rounds)
                if not calls or turn.abstained:
                    break
                await self._run_tools(turn, calls)
                if turn.end_outcome is not None:
                    if not turn.produced:
                        self._emit(turn, self.playbook.render(self.playbook.close.goodbye, self.context))
                    break
                started = asyncio.get_running_loop().time()
        except Exception as exc:  # whatever the endpoint did, the prospect must hear something
            reason = "timeout" if isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__ else "error"
            turn.log["stream_error"] = f"{reason}: {type(exc).__name__}: {str(exc)[:200]}"
            if not turn.produced:
                turn.queue.put_nowait(_Fail(reason, turn.log["stream_error"]))
        finally:
            turn.queue.put_nowait(None)

    async def _round(self, turn: _Turn, sent: float, *, tools: bool) -> list[_Call]:
        loop = asyncio.get_running_loop()
        turn.log["rounds"] += 1
        schemas = cast(list[ChatCompletionToolUnionParam], self.registry.schemas())
        calls: dict[int, _Call] = {}
        clauses = ClauseStream()
        held: list[str] = []
        active = False
        async with asyncio.timeout_at(min(sent + self.first_token_timeout_s, turn.deadline)) as limit:
            stream = await self._client.chat.completions.create(
                model=self.model,
                messages=cast(list[ChatCompletionMessageParam], [*self._messages, *turn.messages]),
                stream=True,
                temperature=self.temperature,
                tools=schemas or omit,
                tool_choice="none" if schemas and not tools else omit,
            )
            try:
                async for chunk in stream:
                    progress = False
                    for choice in chunk.choices[:1]:
                        for delta in choice.delta.tool_calls or []:
                            call = calls.setdefault(delta.index, _Call())
                            call.id = delta.id or call.id
                            if delta.function is not None:
                                name = delta.function.name or ""
                                call.name = call.name + name if name != call.name else call.name
                                call.arguments += delta.function.arguments or ""
                            progress = True
                        content = choice.delta.content or ""
                        for clause in clauses.feed(content):
                            progress = True
                            if not self._offer(turn, clause, held):
                                return []
                        progress = progress or (active and bool(content))
                        if turn.log["first_token_ms"] is None and (content or choice.delta.tool_calls):
                            turn.log["first_token_ms"] = round((loop.time() - sent) * 1000.0, 1)
                    if progress:
                        active = True
                        limit.reschedule(min(loop.time() + self.first_token_timeout_s, turn.deadline))
            finally:
                await stream.close()
        for clause in clauses.flush():
            if not self._offer(turn, clause, held):
                return []
        if calls and tools:
            if held:
                turn.log["dropped"] = [*turn.log.get("dropped", []), *held]
            return [calls[i] for i in sorted(calls)]
        if turn.product and not turn.passages:
            self._abstain(turn, "no_passages" if turn.searched else "no_search")
        return []

    def _offer(self, turn: _Turn, clause: str, held: list[str]) -> bool:
        """Let a clause through the grounding check; False once the turn has abstained."""
        if not turn.product:
            self._emit(turn, clause)
        elif not turn.passages:
            held.append(clause)  # a preamble before a tool call, or an answer that will abstain
        elif numbers_in(clause) - turn.allowed:
            turn.log["ungrounded"] = sorted(numbers_in(clause) - turn.allowed)
            self._abstain(turn, "ungrounded_number")
            return False
        else:
            self._emit(turn, clause)
        return True

    def _abstain(self, turn: _Turn, reason: str) -> None:
        turn.abstained = reason
        turn.log |= {"grounded": False, "abstained": reason}
        self._emit(turn, self._abstain_line())

    def _abstain_line(self) -> str:
        return self.playbook.render(self.playbook.fallbacks.unknown_question, self.context)

    def _emit(self, turn: _Turn, clause: str) -> None:
        if not turn.done:
            turn.produced += 1
            turn.queue.put_nowait(clause)

    async def _run_tools(self, turn: _Turn, calls: list[_Call]) -> None:
        for i, call in enumerate(calls):
            call.id = call.id or f"call_{turn.log['rounds']}_{i}"
        results: list[Message] = []
        for call in calls:
            result = await self.registry.call(call.name, call.arguments)
            results.append({"role": "tool", "tool_call_id": call.id, "content": result.to_json()})
            entry = {"name": call.name, "arguments": call.arguments, "ok": result.ok, "code": result.code}
            turn.log["tool_calls"].append(entry | {"ms": round(result.ms, 1)})
            self._note(turn, call.name, result)
        # The assistant message and its tool results go in together: a half-finished round is never sent.
        wire = [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls]
        turn.messages += [{"role": "assistant", "content": None, "tool_calls": wire}, *results]

    def _note(self, turn: _Turn, name: str, result: ToolResult) -> None:
        if not result.ok:
            turn.searched = turn.searched or name == "search_knowledge"
            return
        if name == "search_knowledge":
            turn.searched = True
            for passage in result.data.get("passages") or []:
                if isinstance(passage, Mapping) and passage.get("text"):
                    turn.passages.append(str(passage.get("id", "")))
                    turn.allowed |= numbers_in(str(passage["text"]))
        elif name == "end_call":
            turn.end_outcome = str(result.data.get("outcome") or OUTCOME_PROSPECT_ENDED)
        elif name == "switch_language" and isinstance(result.data.get("language"), str):
            turn.language = str(result.data["language"])

    # -- bookkeeping ----------------------------------------------------------------------

    def _hand_out(self, turn: _Turn, clause: str) -> None:
        if turn.abstained and clause == self._abstain_line():
            # The promise of an e-mail is made: note the question where the call summary looks for it.
            self.follow_up_questions.append(turn.prospect)
            self.fallback.follow_up_questions.append(turn.prospect)
        turn.said.append(clause)
        agent = HistoryTurn("agent", " ".join(turn.said))
        if turn.history_at is None:
            self.history.append(agent)
            turn.history_at = len(self.history) - 1
        else:
            self.history[turn.history_at] = agent

    def _decision(self, turn: _Turn) -> dict[str, object]:
        tools = list(turn.log["tool_calls"])
        return {
            **turn.log,
            "grounded": turn.log.get("grounded", True),
            "passages": list(turn.passages),
            "tool_calls": tools,
        }

    async def _close(self, turn: _Turn | None, *, commit: bool = True) -> None:
        """Stop the turn's request and wait for it, then commit what was said."""
        if turn is None:
            return
        task = turn.task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})
        if commit:
            self._commit(turn)
        else:
            turn.done = True
            self._turn = None if self._turn is turn else self._turn

    def _settle(self) -> None:
        """The synchronous form of :meth:`_close` for the non-async methods (the request is cancelled)."""
        if self._turn is not None:
            self._commit(self._turn)

    def _commit(self, turn: _Turn) -> None:
        if turn.done:
            return
        turn.done = True
        if turn.task is not None and not turn.task.done():
            turn.task.cancel()
        turn.queue.put_nowait(None)  # wakes a reader of Reply.more
        self._messages.extend(turn.messages)
        said = " ".join(turn.said)
        if said:
            self._messages.append({"role": "assistant", "content": said})
        if turn.end_outcome is not None:
            self._end(turn.end_outcome)
        if turn.language is not None and turn.language != self.language:
            self.language = turn.language
            self._messages[0] = self._system_message()
        self.last_turn = MappingProxyType(self._decision(turn) | {"said": said})
        if self._turn is turn:
            self._turn = None

    def _spoken(self, reply: Reply) -> Reply:
        """Record a playbook reply as the agent's turn in both transcripts."""
        if reply.text:
            self.history.append(HistoryTurn("agent", reply.text))
            self._messages.append({"role": "assistant", "content": reply.text})
        if reply.ends_call:
            self._end(reply.outcome or OUTCOME_PROSPECT_ENDED)
        return reply

    def _end(self, outcome: str) -> None:
        self.phase, self.outcome, self.pending_end = "ended", outcome, outcome

    def _system_message(self) -> Message:
        prompt = system_prompt(self.playbook, self.context, language=self.language, now=self._now())
        return {"role": "system", "content": prompt}

    # -- state ----------------------------------------------------------------------------

    @property
    def messages(self) -> list[Message]:
        """The chat as the model sees it (a copy)."""
        return [dict(m) for m in self._messages]

    def checkpoint(self) -> object:
        """The conversation state before a turn (a running stream is ended first)."""
        self._settle()
        scalars = (self.phase, self.outcome, self.pending_end, self.language)
        return scalars, self.messages, list(self.history), list(self.follow_up_questions), self.fallback.checkpoint()

    def rollback(self, state: object) -> None:
        """Undo the turns since :meth:`checkpoint`: the prospect had not finished speaking."""
        self._settle()
        scalars, messages, history, follow_ups, fallback = cast(
            tuple[tuple[str, str | None, str | None, str], list[Message], list[HistoryTurn], list[str], object], state
        )
        self.phase, self.outcome, self.pending_end, self.language = scalars
        self._messages = [dict(m) for m in messages]
        self.history, self.follow_up_questions = list(history), list(follow_ups)
        self.fallback.rollback(fallback)

    def on_interrupted(self, heard: str) -> None:
        """The prospect barged in: stop the stream and keep only what they heard of the agent's turn."""
        self._settle()
        heard = heard.strip()
        for i in range(len(self.history) - 1, -1, -1):
            if self.history[i].role == "agent":
                if heard:
                    self.history[i] = HistoryTurn("agent", heard)
                else:
                    del self.history[i]
                break
        for i in range(len(self._messages) - 1, 0, -1):
            message = self._messages[i]
            if message["role"] == "assistant" and message.get("content"):
                if heard:
                    self._messages[i] = message | {"content": heard}
                elif message.get("tool_calls"):
                    self._messages[i] = message | {"content": None}
                else:
                    del self._messages[i]
                return

    async def aclose(self) -> None:
        """End any running request and close the HTTP client if this brain made it."""
        await self._close(self._turn)
        if self._owns_client:
            await self._client.close()
