"""The exact checker of the rubric world: verdicts, score and token-level truth.

``check(task, response)`` runs every criterion's ``spec`` exactly and returns, per criterion,
``satisfied`` and ``truth_spans``: the character spans of the response that make the criterion
true (empty for non-local criteria and for unsatisfied ones). It is the ground truth for
attribution and the held-out grader for RL, so its rules are few, exact and written down here.

Conventions
-----------
Words
    A word is a maximal run of ASCII letters and digits (``[A-Za-z0-9]+``). Matching is
    case-insensitive and whole-word: "park" does not match "parking", "rain" not "rainbow",
    "Maya" not "Mayan", "7" not "17". An apostrophe splits words, so "Maya's" contains "Maya".
    Only the exact word form counts: "picnics" does not mention "picnic".
Numbers
    Digits only. "7 people" states seven people; "seven people" does not count. The number of
    people is stated by ``<digits> <noun>`` with the noun in the criterion's ``words`` (by default
    "people" or "guests"); a number followed by anything else ("at 7", "7 hours") is not a
    statement of the number of people.
Sentences
    The text is cut after every run of ``.``, ``!`` or ``?``; text after the last such run is a
    final segment without terminal punctuation. Segments without any word are ignored. The
    number of *sentences* of a response is its number of segments (fragments and repeats
    included). ``"."`` always ends a sentence (no decimals in this world).
Well-formed sentences
    Only well-formed sentences speak for the response. A segment is well-formed when it ends
    with terminal punctuation, has 3 to 30 words, contains at least one verb of :data:`VERBS`,
    and does not repeat a word pair (bigram) inside itself. A bare greeting of two words
    ("Hi Maya!") is also well-formed. A well-formed sentence is *counted* unless it repeats an
    earlier segment word for word (case-insensitive) or copies a sentence of the prompt word
    for word. Hence keyword lists, run-on text, fragments, repeated sentences and copied prompt
    sentences earn no credit.
Positive criteria (required, prompt-dependent, non-local)
    are satisfied only by counted sentences: a response with no counted sentence satisfies none
    of them, including the length limits. In particular **an empty response satisfies nothing**
    ("at most 3 sentences" is False for it: it says nothing).
Forbidden criteria
    see the whole text, well-formed or not: a forbidden word anywhere fires the criterion
    (penalties are conservative; hiding a rude word in a fragment does not help).
Negation
    "Mentions" is literal: "there will be no picnic" mentions the picnic, and "there will be no
    rain" mentions the rain (the forbidden criterion fires). The same rule for both signs.
Contradictions (single-valued slots)
    ``count``: satisfied iff some counted sentence states the prompt's number of people and no
    counted sentence states a different number of people ("7 people are coming. Sorry, I mean 9
    people." is False). ``day``: the prompt's weekday appears and no other weekday does ("on
    Friday or Saturday" is False). ``greet``: a greeting word (hi, hello, dear, hey), optionally
    followed by a comma, directly followed by the prompt's name, and no greeting of another
    known name ("Hi Tom, hi Maya" is False); a name without a greeting word does not greet.
Truth spans
    ``mention``/``day``: every counted occurrence of the word; ``avoid``: every occurrence in the
    text; ``greet``: the name right after the greeting word; ``count``: the digits of the number
    (not the noun); non-local criteria (``order``, ``max_sentences``, ``max_words``): none.
    ``order``: the first counted mention of ``words[0]`` starts before the first counted mention
    of ``words[1]``; both must be present. ``max_words``: total words (all of the text) <= n.
Score
    ``score = sum_k w_k * 1[satisfied_k] / sum_k max(w_k, 0)`` (0.0 when no weight is positive);
    it lies in [-sum(neg)/sum(pos), 1].
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from ..errors import RubricError, WorldError
from ..examples import rubric_normaliser
from ..spans import token_mask_for_char_spans
from .schema import Criterion, Task
from .vocab import GREETINGS, NAMES, PEOPLE_NOUNS, WEEKDAYS

__all__ = ["VERBS", "MIN_SENTENCE_WORDS", "MAX_SENTENCE_WORDS", "Word", "Sentence",
           "CriterionCheck", "CheckResult", "analyze_response", "check", "token_truth"]

MIN_SENTENCE_WORDS = 3
MAX_SENTENCE_WORDS = 30

#: a sentence must contain one of these (verbs and auxiliaries, lowercase, contraction tails)
VERBS = frozenset("""
am is are was were be been being will would can could shall should may might must
have has had do does did done ll re ve m
come comes coming came bring brings bringing brought meet meets meeting met see sees seeing saw
hope hopes think thinks know knows let lets want wants need needs join joins joining start
starts starting begin begins plan plans planning go goes going get gets make makes take takes
takes love like enjoy feel look looking hear heard say says said tell tells told help helps
wait call forget remember ask asks stay leave arrive miss mean meant invite send write writing
writes talk talking worry expect expects holding hold lasts last eat play sounds seems
went got made took gave give gives found find finds put use uses try tries work works live lives
win wins open opens close closes read reads sing sings sang run runs ran swim swims swam walk
walks cook cooks bake bakes dance dances ate sit sits bought buy buys pay pays thank thanks
""".split())

_WORD_RE = re.compile(r"[A-Za-z0-9]+")
_TERMINAL_RE = re.compile(r"[.!?]+")
_GAP_GREET_RE = re.compile(r"\s*,?\s*")
_GAP_COUNT_RE = re.compile(r"\s+")
_NAMES_LOWER = frozenset(n.lower() for n in NAMES)
_GREETINGS = frozenset(GREETINGS)
_WEEKDAYS_LOWER = frozenset(d.lower() for d in WEEKDAYS)


@dataclass(frozen=True)
class Word:
    start: int
    end: int
    text: str  # lowercase


@dataclass(frozen=True)
class Sentence:
    """One segment of a response. ``counted`` implies ``well_formed``."""

    start: int
    end: int
    words: tuple[Word, ...]
    terminated: bool
    well_formed: bool
    counted: bool
    reason: str  # why it is not well-formed / not counted ("" when counted)

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(w.text for w in self.words)


def _segments(text: str) -> list[tuple[int, int, bool]]:
    out, pos = [], 0
    for m in _TERMINAL_RE.finditer(text):
        out.append((pos, m.end(), True))
        pos = m.end()
    if pos < len(text):
        out.append((pos, len(text), False))
    return out


def _words(text: str, start: int, end: int) -> tuple[Word, ...]:
    return tuple(Word(m.start(), m.end(), m.group().lower())
                 for m in _WORD_RE.finditer(text, start, end))


def _shape_problem(words: tuple[Word, ...], terminated: bool) -> str:
    if not terminated:
        return "fragment: no terminal punctuation"
    if len(words) == 2 and words[0].text in _GREETINGS and words[1].text in _NAMES_LOWER:
        return ""
    if len(words) < MIN_SENTENCE_WORDS:
        return f"too short: fewer than {MIN_SENTENCE_WORDS} words"
    if len(words) > MAX_SENTENCE_WORDS:
        return f"run-on: more than {MAX_SENTENCE_WORDS} words"
    if not any(w.text in VERBS for w in words):
        return "no verb"
    pairs = [(a.text, b.text) for a, b in zip(words, words[1:])]
    if len(set(pairs)) < len(pairs):
        return "repeats a word pair"
    return ""


def analyze_response(text: str, prompt: str = "") -> list[Sentence]:
    """Segment ``text`` into sentences and mark which are well-formed and counted."""
    prompt_keys = set()
    if prompt:
        for s, e, _ in _segments(prompt):
            ws = _words(prompt, s, e)
            if ws:
                prompt_keys.add(tuple(w.text for w in ws))
    out: list[Sentence] = []
    seen: set[tuple[str, ...]] = set()
    for s, e, term in _segments(text):
        ws = _words(text, s, e)
        if not ws:
            continue
        key = tuple(w.text for w in ws)
        problem = _shape_problem(ws, term)
        well = not problem
        if well and key in seen:
            problem = "repeats an earlier sentence"
        elif well and key in prompt_keys:
            problem = "copies the prompt"
        seen.add(key)
        out.append(Sentence(ws[0].start, e if term else ws[-1].end, ws, term, well,
                            not problem, problem))
    return out


@dataclass
class CriterionCheck:
    text: str
    weight: float
    kind: str
    local: bool
    satisfied: bool
    truth_spans: list[tuple[int, int]] = field(default_factory=list)
    reason: str = ""

    def truth_text(self, response: str) -> list[str]:
        return [response[s:e] for s, e in self.truth_spans]

    def to_dict(self) -> dict:
        return {"criterion": self.text, "weight": self.weight, "kind": self.kind,
                "local": self.local, "satisfied": self.satisfied,
                "truth_spans": [list(x) for x in self.truth_spans], "reason": self.reason}


@dataclass
class CheckResult:
    task_id: str
    response: str
    criteria: list[CriterionCheck]
    score: float

    @property
    def satisfied(self) -> list[bool]:
        return [c.satisfied for c in self.criteria]

    def __len__(self) -> int:
        return len(self.criteria)

    def __getitem__(self, i: int) -> CriterionCheck:
        return self.criteria[i]

    def to_dict(self) -> dict:
        return {"task_id": self.task_id, "response": self.response, "score": self.score,
                "criteria": [c.to_dict() for c in self.criteria]}


def _phrases(words: Sequence[str]) -> list[tuple[str, ...]]:
    out = []
    for w in words:
        toks = tuple(m.group().lower() for m in _WORD_RE.finditer(str(w)))
        if toks:
            out.append(toks)
    return out


def _find(sentences: Iterable[Sentence],
          phrases: Sequence[tuple[str, ...]]) -> list[tuple[int, int]]:
    spans = []
    for sent in sentences:
        ws = sent.words
        for i in range(len(ws)):
            for ph in phrases:
                if tuple(w.text for w in ws[i:i + len(ph)]) == ph:
                    spans.append((ws[i].start, ws[i + len(ph) - 1].end))
    return sorted(set(spans))


def _check_one(c: Criterion, text: str, sents: list[Sentence]) -> tuple[bool, list, str]:
    sp = c.spec
    chk, n = sp["check"], sp["n"]
    counted = [s for s in sents if s.counted]
    if chk == "avoid":
        spans = _find(sents, _phrases(sp["words"]))
        return bool(spans), spans, ("found" if spans else "not found")
    if not counted:
        return False, [], "no counted sentence" if sents else "empty response"
    if chk == "mention":
        spans = _find(counted, _phrases(sp["words"]))
        return bool(spans), spans, ("found" if spans else "not found in a counted sentence")
    if chk == "day":
        target = {w.lower() for w in sp["words"]}
        rivals = (_WEEKDAYS_LOWER | target) if target & _WEEKDAYS_LOWER else target
        hits = [w for s in counted for w in s.words if w.text in rivals]
        good = [(w.start, w.end) for w in hits if w.text in target]
        bad = sorted({w.text for w in hits if w.text not in target})
        if bad:
            return False, [], "contradicted by " + ", ".join(bad)
        return bool(good), good, ("found" if good else "not found")
    if chk == "greet":
        target = {w.lower() for w in sp["words"]}
        names = _NAMES_LOWER | target
        good, bad = [], set()
        for s in counted:
            for a, b in zip(s.words, s.words[1:]):
                if a.text in _GREETINGS and b.text in names and \
                        _GAP_GREET_RE.fullmatch(text, a.end, b.start):
                    if b.text in target:
                        good.append((b.start, b.end))
                    else:
                        bad.add(b.text)
        if bad:
            return False, [], "also greets " + ", ".join(sorted(bad))
        return bool(good), good, ("greets" if good else "no greeting of the name")
    if chk == "count":
        nouns = {w.lower() for w in (sp["words"] or PEOPLE_NOUNS)}
        good, bad = [], set()
        for s in counted:
            for a, b in zip(s.words, s.words[1:]):
                if a.text.isdigit() and b.text in nouns and \
                        _GAP_COUNT_RE.fullmatch(text, a.end, b.start):
                    if int(a.text) == n:
                        good.append((a.start, a.end))
                    else:
                        bad.add(int(a.text))
        if bad:
            return False, [], "contradicted by " + ", ".join(map(str, sorted(bad)))
        return bool(good), good, ("found" if good else "number of people not stated")
    if chk == "order":
        ph = _phrases(sp["words"])
        if len(ph) < 2:
            raise WorldError(f"order criterion needs two words: {c.text!r}")
        first, second = _find(counted, ph[:1]), _find(counted, ph[1:2])
        if not first or not second:
            return False, [], "one of the two is missing"
        ok = first[0][0] < second[0][0]
        return ok, [], "in order" if ok else "wrong order"
    if chk == "max_sentences":
        k = len(sents)
        return k <= n, [], f"{k} sentences"
    if chk == "max_words":
        k = len(_WORD_RE.findall(text))
        return k <= n, [], f"{k} words"
    raise WorldError(f"unknown check {chk!r}")


# The checker's only use of the shared rubric normaliser sum_k max(w_k, 0). Its convention: a rubric
# without a positive weight scores 0.0 (the engine raises RubricError).
def _rubric_norm(weights: Sequence[float]) -> float:
    try:
        return rubric_normaliser(weights)
    except RubricError:
        return 0.0


def check(task: Task | Mapping[str, Any], response: str) -> CheckResult:
    """Score ``response`` against ``task``'s rubric exactly (see the module conventions)."""
    if not isinstance(task, Task):
        task = Task.from_dict(task)
    response = response or ""
    sents = analyze_response(response, task.prompt)
    results = []
    for c in task.rubric:
        ok, spans, why = _check_one(c, response, sents)
        if not ok or not c.local:
            spans = []
        results.append(CriterionCheck(c.text, c.weight, c.kind, c.local, bool(ok),
                                      [tuple(x) for x in spans], why))
    denom = _rubric_norm([c.weight for c in task.rubric])
    num = sum(c.weight for c, r in zip(task.rubric, results) if r.satisfied)
    score = num / denom if denom > 0 else 0.0
    return CheckResult(task.id, response, results, float(score))


def token_truth(result: CriterionCheck | Sequence[Sequence[int]],
                token_offsets: Sequence[Sequence[int]]) -> list[bool]:
    """For each token ``(start, end)`` (character offsets, end exclusive), whether it overlaps a
    truth span of ``result`` (a :class:`CriterionCheck` or a list of spans). Empty tokens
    (``start == end``, e.g. special tokens with offset ``(0, 0)``) are never truth.

    The overlap rule is the engine's (:func:`g2r_lens.spans.token_mask_for_char_spans`)."""
    spans = result.truth_spans if isinstance(result, CriterionCheck) else result
    offsets = [(int(a), int(b)) for a, b in token_offsets]
    return token_mask_for_char_spans(offsets, [(int(a), int(b)) for a, b in spans]).tolist()
