"""What the prospect actually heard of the agent's current line (for barge-in truncation)."""

from __future__ import annotations


class SpeechLedger:
    """Counts agent samples played per clause; ``heard()`` gives the words that made it out.

    The speaker registers each clause with its length in samples at the line rate;
    the transport reports every frame it puts on the line. On a barge-in the
    history keeps the clauses played in full plus the played share of the
    current clause's words.
    """

    def __init__(self) -> None:
        self._clauses: list[tuple[str, int]] = []
        self._played = 0
        self.text = ""

    def start(self, text: str) -> None:
        """A new agent line begins."""
        self._clauses = []
        self._played = 0
        self.text = text

    def clause(self, text: str, samples: int) -> None:
        """The speaker queued a clause of ``samples`` samples."""
        self._clauses.append((text, samples))

    def played(self, samples: int) -> None:
        """The transport put ``samples`` more samples on the line."""
        self._played += samples

    @property
    def queued_samples(self) -> int:
        """Samples of the current line queued so far."""
        return sum(n for _, n in self._clauses)

    @property
    def played_samples(self) -> int:
        """Samples of the current line played so far."""
        return self._played

    def heard(self) -> str:
        """The words of the current line the prospect has heard."""
        words: list[str] = []
        left = self._played
        for text, samples in self._clauses:
            if left >= samples:
                words.extend(text.split())
                left -= samples
                continue
            clause_words = text.split()
            share = int(len(clause_words) * left / samples) if samples else 0
            words.extend(clause_words[:share])
            break
        return " ".join(words)

    def unheard(self) -> str:
        """The rest of the current line after what was heard (to resume after a false barge-in)."""
        heard = self.heard().split()
        return " ".join(self.text.split()[len(heard) :])
