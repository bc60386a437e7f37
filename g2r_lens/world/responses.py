"""The response sampler.

:func:`sample_response` writes responses of dozens of words in several modes:
``good`` (follows the prompt), ``noisy`` (a random mix of right, missing and wrong content: what a
weak policy writes) and the degenerate responses an RL policy finds when it exploits a learned
judge: ``keywords``, ``repeat``, ``fragment``, ``runon``, ``misplaced``. The sampler only proposes
text; the label of any response is always what :func:`g2r_lens.world.checker.check` says.
Everything takes an explicit ``random.Random``; the global ``random`` state is never used.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import WorldError
from .checker import analyze_response, check
from .schema import Task
from .vocab import (AVOID_TOPICS, EVENTS, ITEMS, NAMES, NUMBER_WORDS, NUMBERS, PLACES, RUDE_WORDS,
                    WEEKDAYS)

__all__ = ["RESPONSE_MODES", "ADVERSARIAL_MODES", "MIXED_PROBS", "response_modes", "sample_response",
           "counterfactual_twin", "TWIN_EDITS", "TWIN_EDITS_V3", "twin_edits", "twins_by_edit"]

RESPONSE_MODES = ("good", "noisy", "mixed", "keywords", "repeat", "fragment", "runon", "misplaced")
ADVERSARIAL_MODES = ("keywords", "repeat", "fragment", "runon", "misplaced")
response_modes = RESPONSE_MODES  # alias

_FILLERS = (
    "It should be a lot of fun", "Let me know if you have any questions",
    "I am really looking forward to it", "Everyone is welcome to join us",
    "I think you will enjoy it", "Tell me if you need a ride", "We will have food and music",
    "It will be good to see everyone again", "We can stay as long as we like",
    "I will send more details soon", "Please let me know if you can make it",
    "It has been a long time since we all met", "My sister will help with the food",
    "You can invite a friend if you want", "We plan to start in the morning",
    "There will be plenty to eat", "I hope you can come", "It is going to be a great day",
    "The kids are very excited", "Bring a jacket in case it gets late",
)
_GREET_TAILS = ("I hope you are well", "I have some good news", "I hope your week is going well",
                "I wanted to tell you something", "I hope you had a good week")
_GREET_QUESTIONS = ("how are you",)
_CLOSERS = ("See you soon", "See you there", "Thanks, and see you then", "Talk to you soon",
            "Have a nice day")
_CORE = {
    (1, 1, 1, "dp"): ("On {D} we are having the {E} at the {P}", "The {E} is on {D} at the {P}",
                      "This {D} there will be a {E} at the {P}",
                      "We are holding the {E} on {D} at the {P}"),
    (1, 1, 1, "pd"): ("The {E} will be at the {P} on {D}",
                      "We will meet at the {P} on {D} for the {E}",
                      "The {E} takes place at the {P} on {D}"),
    (1, 0, 1, ""): ("The {E} is on {D}", "We are having the {E} on {D}",
                    "On {D} we will have the {E}"),
    (1, 1, 0, ""): ("The {E} will be at the {P}", "We are having the {E} at the {P}"),
    (0, 1, 1, "dp"): ("On {D} we will meet at the {P}", "We meet on {D} at the {P}"),
    (0, 1, 1, "pd"): ("We will meet at the {P} on {D}", "Come to the {P} on {D}"),
    (1, 0, 0, ""): ("I wanted to tell you about the {E}", "The {E} is coming up soon"),
    (0, 1, 0, ""): ("We will meet at the {P}", "Meet us at the {P}"),
    (0, 0, 1, ""): ("It is on {D}", "We will meet on {D}"),
}
_NUMBER_OK = ("{n} people are coming", "So far {n} people have said they will come",
              "We expect {n} guests in total", "There will be {n} people there",
              "In total {n} people will join us")
_NUMBER_FIX = ("Sorry, I mean {m} people", "Actually, {m} people are coming now")
_NUMBER_MISUSED = ("We will start at {n} in the morning", "It starts at {n}",
                   "The {E} lasts {n} hours", "Bring {n} cups for the drinks")
_ITEM_OK = ("Please bring the {I} if you can", "Do not forget the {I}",
            "It would be great if you could bring the {I}", "We still need the {I}")
_ITEM_Q = ("Could you bring the {I}",)
_ITEM_NEG = ("We do not need the {I} this time", "There is no need to bring the {I}")
_AVOID_OK = ("I hope the {A} will not be a problem", "Do not worry about the {A}",
             "The {A} could be a problem", "I heard about the {A}")
_AVOID_NEG = ("There will be no {A}, I promise", "Nobody will talk about the {A}")
_RUDE = ("The last one was {R}", "Please do not be {R} about it", "Some of the plans are {R}")
_UNGREETED = ("This note is for {name}", "I am writing to {name} about this")
_NO_NAME_GREET = ("Hi there", "Hello everyone", "Hi all")
_MENTION_EXTRA = ("Do not forget the {W}", "I also want to mention the {W}")
_KEYWORD_EXTRAS = ("greeting", "number", "day", "place", "people", "sentences", "note")
_KEEP_CASE = {w.lower() for w in NAMES + WEEKDAYS} | {"i"}
MAX_FILLERS = 5  # filler sentences per response, at most (before length violations)


@dataclass
class _Clause:
    text: str           # starts with a capital letter (or digit), no final punctuation
    punct: str = "."
    mergeable: bool = True
    filler: bool = False

    @property
    def words(self) -> int:
        return len(self.text.replace(",", " ").split())


def _lower_first(text: str) -> str:
    first = text.split(" ", 1)[0].strip(",").lower()
    return text if first in _KEEP_CASE or not text[:1].isalpha() else text[:1].lower() + text[1:]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _derive(task: Task, rng: random.Random) -> dict:
    """Scene values and constraints from the task's slots and rubric specs (hand-written tasks
    without slots get random values for what the rubric does not fix)."""
    s = dict(task.slots)
    cons = {"max_sentences": 0, "max_words": 0, "order": None, "mentions": []}
    for c in task.rubric:
        sp = c.spec
        chk, words = sp["check"], sp["words"]
        if chk == "greet" and words:
            s.setdefault("name", words[0])
        elif chk == "count":
            s.setdefault("number", sp["n"])
        elif chk == "day" and words:
            s.setdefault("day", words[0])
        elif chk == "avoid" and words and words[0] not in RUDE_WORDS:
            s.setdefault("avoid", words[0])
        elif chk == "order" and len(words) >= 2:
            cons["order"] = (words[0], words[1])
            s.setdefault("day", words[0])
            s.setdefault("place", words[1])
        elif chk == "max_sentences":
            cons["max_sentences"] = sp["n"]
        elif chk == "max_words":
            cons["max_words"] = sp["n"]
        elif chk == "mention":
            cons["mentions"].extend(words)
    for key, pool in (("name", NAMES), ("event", EVENTS), ("place", PLACES), ("day", WEEKDAYS),
                      ("number", NUMBERS), ("item", ITEMS), ("avoid", AVOID_TOPICS)):
        s.setdefault(key, rng.choice(pool))
    known = {str(s[k]).lower() for k in ("event", "place", "item", "day")}
    cons["mentions"] = [w for w in cons["mentions"] if w.lower() not in known]
    cons["has"] = {c.spec["check"] for c in task.rubric}
    cons["rude"] = any(c.spec["check"] == "avoid" and set(c.spec["words"]) & set(RUDE_WORDS)
                       for c in task.rubric)
    low = task.prompt.lower()
    cons["prompt_number"] = f"{s['number']} people" in low or "count" in cons["has"]
    cons["prompt_item"] = f"the {str(s['item']).lower()}" in low or any(
        c.spec["check"] == "mention" and str(s["item"]).lower() in
        [w.lower() for w in c.spec["words"]] for c in task.rubric)
    return {"s": s, "c": cons}


def _other(rng: random.Random, pool: Sequence, value) -> Any:
    return rng.choice([x for x in pool if str(x).lower() != str(value).lower()])


def _plan(rng: random.Random, mode: str, c: dict) -> dict:
    """What each content slot should look like in the response."""
    good = {"greet": "yes", "event": True, "place": True, "day": "yes",
            "order": "dp" if c["order"] else rng.choice(("dp", "pd")),
            "number": "yes" if c["prompt_number"] else "no",
            "item": "yes" if c["prompt_item"] else "no",
            "extras": True, "avoid": "no", "rude": False, "fit": True, "copy": 0}
    if mode == "good":
        if "greet" not in c["has"] and rng.random() < 0.3:
            good["greet"] = "no"
        return good
    if mode == "noisy":
        p = dict(good)
        p["greet"] = rng.choices(("yes", "no", "wrong", "ungreeted"), (5, 3, 1, 1))[0]
        p["event"] = rng.random() < 0.55
        p["place"] = rng.random() < 0.55
        p["day"] = rng.choices(("yes", "no", "wrong", "both"), (5, 3, 1, 1))[0]
        p["order"] = rng.choice(("dp", "pd"))
        p["number"] = rng.choices(("yes", "no", "wrong", "both", "misused", "words"),
                                  (5, 3, 1, 1, 1, 1))[0]
        p["item"] = rng.choices(("yes", "no", "negated"), (5, 4, 1))[0]
        p["extras"] = rng.random() < 0.5
        p["avoid"] = rng.choices(("no", "yes", "negated"), (6, 3, 1))[0]
        p["rude"] = rng.random() < 0.25
        p["fit"] = rng.random() < 0.6
        return p
    if mode == "mixed":
        return _mixed_plan(rng, good, c)
    if mode == "misplaced":
        p = dict(good)
        menu = ["greet", "number", "day", "item", "avoid", "copy", "order"]
        for m in rng.sample(menu, rng.randint(2, 4)):
            if m == "greet":
                p["greet"] = rng.choice(("wrong", "ungreeted"))
            elif m == "number":
                p["number"] = rng.choice(("misused", "both", "words"))
            elif m == "day":
                p["day"] = "both"
            elif m == "item":
                p["item"] = "negated"
            elif m == "avoid":
                p["avoid"] = "negated"
            elif m == "copy":
                p["copy"] = rng.randint(1, 2)
            elif m == "order":
                p["order"] = "pd"
        return p
    raise WorldError(f"no sentence plan for mode {mode!r}")


#: The policy's writing data (mode ``mixed``): each content item independently right, missing or
#: wrong, with the right value (taken from the prompt) the most likely choice of each, so that
#: greedy decoding scores higher than sampling. The greeting names the prompt's person almost always
#: (the policy visibly reads its prompt); event and place are right more often than the rest
#: (a small policy under-produces them). Tuned so that every criterion kind is satisfied in
#: roughly 30-70 % of responses.
MIXED_PROBS = {
    "greet": {"yes": 0.94, "no": 0.03, "wrong": 0.03},
    "event": 0.78, "place": 0.74,
    "day": {"yes": 0.7, "no": 0.12, "wrong": 0.12, "both": 0.06},
    "number": {"yes": 0.68, "no": 0.1, "wrong": 0.12, "both": 0.04, "misused": 0.03, "words": 0.03},
    "number_unasked": {"no": 0.85, "yes": 0.15},
    "item": {"yes": 0.7, "no": 0.22, "negated": 0.08},
    "item_unasked": {"no": 0.85, "yes": 0.15},
    "extras": 0.65, "avoid": {"no": 0.55, "yes": 0.35, "negated": 0.1}, "rude": 0.3, "fit": 0.6,
    "order_dp": 0.7,
    "length": (16, 40),  # target words before length violations: shorter than ``noisy`` (cheaper to learn)
}


def _choice(rng: random.Random, table: dict) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


def _mixed_plan(rng: random.Random, good: dict, c: dict) -> dict:
    q = MIXED_PROBS
    p = dict(good)
    p["greet"] = _choice(rng, q["greet"])
    p["event"] = rng.random() < q["event"]
    p["place"] = rng.random() < q["place"]
    p["day"] = _choice(rng, q["day"])
    p["order"] = "dp" if rng.random() < q["order_dp"] else "pd"
    p["number"] = _choice(rng, q["number"] if c["prompt_number"] else q["number_unasked"])
    p["item"] = _choice(rng, q["item"] if c["prompt_item"] else q["item_unasked"])
    p["extras"] = rng.random() < q["extras"]
    p["avoid"] = _choice(rng, q["avoid"])
    p["rude"] = rng.random() < q["rude"]
    p["fit"] = rng.random() < q["fit"]
    p["length"] = q["length"]
    return p


def _clauses(rng: random.Random, p: dict, d: dict) -> tuple[list[_Clause], list[_Clause]]:
    """(head, body): the greeting clause (if any) and the content clauses."""
    s, c = d["s"], d["c"]
    name, E, P, D, n = s["name"], s["event"], s["place"], s["day"], int(s["number"])
    head: list[_Clause] = []
    g = rng.choice(("Hi", "Hello", "Dear", "Hey", "Hi"))
    if p["greet"] in ("yes", "wrong"):
        who = name if p["greet"] == "yes" else _other(rng, NAMES, name)
        r = rng.random()
        if r < 0.15:
            g = g if g != "Dear" else "Hi"
            head.append(_Clause(f"{g} {who}", "!", mergeable=False))
        elif r < 0.3:
            head.append(_Clause(f"{g} {who}, {rng.choice(_GREET_QUESTIONS)}", "?", mergeable=False))
        else:
            head.append(_Clause(f"{g} {who}, {rng.choice(_GREET_TAILS)}"))
    elif p["greet"] == "no" and rng.random() < 0.5:
        head.append(_Clause(f"{rng.choice(_NO_NAME_GREET)}, {rng.choice(_GREET_TAILS)}"))
    body: list[_Clause] = []
    if p["greet"] == "ungreeted":
        body.append(_Clause(rng.choice(_UNGREETED).format(name=name)))
    day = D if p["day"] in ("yes", "both") else (_other(rng, WEEKDAYS, D) if p["day"] == "wrong"
                                                  else None)
    key = (int(p["event"]), int(p["place"]), int(day is not None))
    key = key + ((p["order"],) if key[1] and key[2] else ("",))
    if key in _CORE:
        core = rng.choice(_CORE[key])
        if p["day"] == "both" and rng.random() < 0.5:
            core = core.replace("{D}", "{D} or {D2}")
        body.append(_Clause(core.format(E=E, P=P, D=day, D2=_other(rng, WEEKDAYS, D))))
        if p["day"] == "both" and "{D2}" not in core:
            body.append(_Clause(f"Sorry, I mean {_other(rng, WEEKDAYS, D)}", mergeable=False))
    num = p["number"]
    if num in ("yes", "both"):
        body.append(_Clause(rng.choice(_NUMBER_OK).format(n=n)))
        if num == "both":
            body.append(_Clause(rng.choice(_NUMBER_FIX).format(m=_other(rng, NUMBERS, n)),
                                mergeable=False))
    elif num == "wrong":
        body.append(_Clause(rng.choice(_NUMBER_OK).format(n=_other(rng, NUMBERS, n))))
    elif num == "misused":
        body.append(_Clause(rng.choice(_NUMBER_MISUSED).format(n=n, E=E)))
    elif num == "words":
        body.append(_Clause(_cap(rng.choice(_NUMBER_OK[:1] + _NUMBER_OK[3:]).format(
            n=NUMBER_WORDS.get(n, str(n))))))
    I = s["item"]
    if p["item"] == "yes":
        if rng.random() < 0.25:
            body.append(_Clause(rng.choice(_ITEM_Q).format(I=I), "?", mergeable=False))
        else:
            body.append(_Clause(rng.choice(_ITEM_OK).format(I=I)))
    elif p["item"] == "negated":
        body.append(_Clause(rng.choice(_ITEM_NEG).format(I=I)))
    if p["extras"]:
        for w in c["mentions"]:
            body.append(_Clause(rng.choice(_MENTION_EXTRA).format(W=w)))
    if p["avoid"] in ("yes", "negated"):
        pool = _AVOID_OK if p["avoid"] == "yes" else _AVOID_NEG
        body.append(_Clause(rng.choice(pool).format(A=s["avoid"])))
    if p["rude"]:
        body.append(_Clause(rng.choice(_RUDE).format(R=rng.choice(RUDE_WORDS))))
    return head, body


def _merge_to(clauses: list[_Clause], limit: int) -> list[_Clause]:
    """Merge adjacent statements (", and ") until at most ``limit`` sentences, if possible."""
    out = list(clauses)
    while len(out) > limit:
        best = None
        for i in range(len(out) - 1):
            a, b = out[i], out[i + 1]
            if not (a.mergeable and b.mergeable and a.punct == "." and b.punct == "."):
                continue
            w = a.words + b.words + 1
            if w <= 28 and (best is None or w < best[0]):
                best = (w, i)
        if best is None:
            return out
        i = best[1]
        a, b = out[i], out[i + 1]
        out[i:i + 2] = [_Clause(f"{a.text}, and {_lower_first(b.text)}", ".", True,
                                a.filler and b.filler)]
    return out


def _render(clauses: Sequence[_Clause], rng: random.Random) -> str:
    out = []
    for i, cl in enumerate(clauses):
        sep = "" if i == 0 else ("\n" if rng.random() < 0.08 else " ")
        out.append(sep + cl.text + cl.punct)
    return "".join(out)


def _n_words(clauses: Sequence[_Clause]) -> int:
    return sum(c.words for c in clauses)


def _compose(rng: random.Random, p: dict, d: dict, prompt: str) -> list[_Clause]:
    c = d["c"]
    head, body = _clauses(rng, p, d)
    rng.shuffle(body)
    if p["copy"]:
        sents = [x.strip() for x in prompt.replace("?", ".").split(".") if x.strip()]
        for x in rng.sample(sents, min(p["copy"], len(sents))):
            body.insert(rng.randint(0, len(body)), _Clause(x, mergeable=False))
    max_s, max_w = c["max_sentences"], c["max_words"]
    target = rng.randint(*p.get("length", (30, 62)))
    if p["fit"] and max_w:
        target = min(target, max_w - rng.randint(1, 6))
    fillers = [_Clause(f, filler=True) for f in rng.sample(_FILLERS, len(_FILLERS))]
    closer = [_Clause(rng.choice(_CLOSERS), filler=True)] if rng.random() < 0.5 else []
    seq = head + body
    for _ in range(MAX_FILLERS):
        if _n_words(seq) + _n_words(closer) + fillers[-1].words > target:
            break
        seq.insert(rng.randint(len(head), len(seq)), fillers.pop())
    seq = seq + closer
    if not p["fit"]:
        # break a length constraint on purpose (when there is one)
        while fillers and ((max_s and len(seq) <= max_s) or (max_w and _n_words(seq) <= max_w)):
            seq.insert(rng.randint(len(head), len(seq)), fillers.pop())
        return seq
    for _ in range(len(seq)):
        fits_w = not max_w or _n_words(seq) <= max_w
        merged = _merge_to(seq, max_s) if max_s else seq
        if fits_w and (not max_s or len(merged) <= max_s):
            return merged
        drop = [i for i, x in enumerate(seq) if x.filler]
        if not drop:
            return merged
        seq.pop(rng.choice(drop))
    return seq


def _sentence_mode(rng: random.Random, task: Task, mode: str) -> str:
    d = _derive(task, rng)
    return _render(_compose(rng, _plan(rng, mode, d["c"]), d, task.prompt), rng)


def _good(rng: random.Random, task: Task, tries: int = 8) -> str:
    best, best_score = "", float("-inf")
    for _ in range(tries):
        text = _sentence_mode(rng, task, "good")
        res = check(task, text)
        if all(r.satisfied == (r.weight > 0) for r in res.criteria):
            return text
        if res.score > best_score:
            best, best_score = text, res.score
    return best


def _keywords(rng: random.Random, task: Task) -> str:
    d = _derive(task, rng)
    s = d["s"]
    kw = [s["name"], s["event"], s["place"], s["day"], str(s["number"]), "people", s["item"]]
    kw += d["c"]["mentions"]
    if rng.random() < 0.3:
        kw.append(s["avoid"])
    kw += rng.sample(_KEYWORD_EXTRAS, rng.randint(0, 3))
    target = rng.randint(8, 30)
    words: list[str] = []
    while len(words) < target:
        chunk = list(kw)
        rng.shuffle(chunk)
        words += chunk
    words = words[:target]
    if rng.random() < 0.5:
        words = [w if w in NAMES or w in WEEKDAYS else w.lower() for w in words]
    sep = rng.choice((" ", ", ", " "))
    text = sep.join(words)
    if rng.random() < 0.3:
        text = f"{rng.choice(('Hi', 'Hello'))} {s['name']}, {text}"
    if rng.random() < 0.5:
        text = _cap(text) + "."
    return text


def _repeat(rng: random.Random, task: Task) -> str:
    d = _derive(task, rng)
    s = d["s"]
    if rng.random() < 0.5:  # one sentence, repeated
        _, body = _clauses(rng, _plan(rng, "good", d["c"]), d)
        body = [b for b in body if b.punct == "."] or [_Clause(f"The {s['event']} is fun")]
        sent = rng.choice(body).text + "."
        k = max(3, round(rng.randint(25, 60) / max(1, len(sent.split()))))
        return " ".join([sent] * k)
    phrase = rng.choice((f"the {s['event']} at the {s['place']}", f"{s['number']} people",
                         f"hi {s['name']}", f"the {s['event']} on {s['day']}",
                         f"{s['event']} {s['place']} {s['day']}",
                         f"see you at the {s['place']}"))
    k = max(4, round(rng.randint(25, 60) / len(phrase.split())))
    sep = rng.choice((" ", ", "))
    text = _cap(sep.join([phrase] * k))
    return text + ("." if rng.random() < 0.5 else "")


def _fragment(rng: random.Random, task: Task) -> str:
    text = _good(rng, task, tries=3) if rng.random() < 0.6 else _sentence_mode(rng, task, "noisy")
    sents = [x for x in analyze_response(text) if len(x.words) >= 3]
    if not sents:
        return text
    # cut inside one of the later sentences, after at least one word and before its last word
    sent = rng.choice(sents[-2:])
    cut_word = sent.words[rng.randint(len(sent.words) // 3, len(sent.words) - 2)]
    return text[: cut_word.end]


def _runon(rng: random.Random, task: Task) -> str:
    d = _derive(task, rng)
    p = _plan(rng, rng.choice(("good", "noisy")), d["c"])
    head, body = _clauses(rng, p, d)
    rng.shuffle(body)
    parts = [h.text for h in head] + [b.text for b in body]
    fillers = rng.sample(_FILLERS, MAX_FILLERS + 1)
    target = rng.randint(45, 75)
    while fillers and sum(len(x.replace(",", " ").split()) for x in parts) < target:
        parts.insert(rng.randint(len(head), len(parts)), fillers.pop())
    joiner = rng.choice((" and ", " and ", ", ", " and then "))
    text = parts[0] + "".join(joiner + _lower_first(x) for x in parts[1:])
    return text + ("." if rng.random() < 0.5 else "")


def sample_response(task: Task, rng: random.Random | int | None = None,
                    mode: str = "noisy") -> str:
    """One response to ``task`` in one of :data:`RESPONSE_MODES`.

    - ``good``: follows the prompt; satisfies every criterion of the rubric (checked, retried);
    - ``mixed``: the policy's writing data: like ``noisy``, but the right value of every item (from
      the prompt) is the likeliest choice (:data:`MIXED_PROBS`);
    - ``noisy``: each content item right, missing or wrong at random (wrong name/number/day,
      contradictions, forbidden topic, rude word, length violations): a weak policy;
    - ``keywords``: a bare list of the rubric's keywords, no sentences;
    - ``repeat``: one sentence or phrase repeated;
    - ``fragment``: a response cut off mid-sentence;
    - ``runon``: one very long sentence (clauses chained with "and");
    - ``misplaced``: right words in the wrong role (the number as a time, the name not greeted,
      two days, a negated item or forbidden topic, prompt sentences copied verbatim).

    The label of the result is whatever :func:`g2r_lens.world.checker.check` says."""
    if rng is None or isinstance(rng, int):
        rng = random.Random(rng or 0)
    if mode == "good":
        return _good(rng, task)
    if mode in ("noisy", "mixed", "misplaced"):
        return _sentence_mode(rng, task, mode)
    if mode == "keywords":
        return _keywords(rng, task)
    if mode == "repeat":
        return _repeat(rng, task)
    if mode == "fragment":
        return _fragment(rng, task)
    if mode == "runon":
        return _runon(rng, task)
    raise WorldError(f"unknown mode {mode!r}; expected one of {RESPONSE_MODES}")


_POOLS = (NAMES, EVENTS, PLACES, WEEKDAYS, ITEMS, AVOID_TOPICS, RUDE_WORDS)


def _distractor(rng: random.Random, word: str) -> str | None:
    """A different word of the same type (name, event, place, day, item, topic, rude word, number)."""
    low = word.lower()
    if low.isdigit():
        return str(_other(rng, NUMBERS, int(low)))
    for pool in _POOLS:
        if low in {str(x).lower() for x in pool}:
            new = str(_other(rng, pool, low))
            return new if word[:1].isupper() == new[:1].isupper() else (
                _cap(new) if word[:1].isupper() else new.lower())
    return None


#: how a counterfactual twin edits the truth words of one satisfied criterion, and how often:
#: ``swap`` (a same-type distractor: "bring the kite"), ``blank`` (the word deleted, the frame kept:
#: "bring the"), ``other`` (a word of another type: "bring the beach"), ``drop`` (the sentences
#: holding them removed). ``blank`` and ``other`` keep the sentence frame and change only the truth
#: word, so that a judge cannot answer True from the frame alone (a judge trained on swaps and drops
#: only learned "True unless a wrong word of the right type is there").
TWIN_EDITS = {"swap": 0.4, "blank": 0.25, "other": 0.2, "drop": 0.15}
#: the first world-v3 recipe: swaps and drops only
TWIN_EDITS_V3 = {"swap": 0.75, "drop": 0.25}


def twin_edits(name: str) -> dict[str, float]:
    """The edit table named by a build's ``twin_edits``: ``all`` (:data:`TWIN_EDITS`) or ``v3``."""
    tables = {"all": TWIN_EDITS, "v3": TWIN_EDITS_V3}
    if name not in tables:
        raise WorldError(f"unknown twin edits {name!r}; use one of {sorted(tables)}")
    return dict(tables[name])


_OTHER_WORDS = ("house", "table", "window", "morning", "friend", "letter", "music")


def _other_type(rng: random.Random, word: str) -> str:
    """A word of another type than ``word`` (or a plain noun), in ``word``'s case."""
    low = word.lower()
    pools = [p for p in (EVENTS, PLACES, ITEMS, AVOID_TOPICS) if low not in {str(x).lower() for x in p}]
    new = str(rng.choice(rng.choice(pools))) if rng.random() < 0.7 else rng.choice(_OTHER_WORDS)
    return _cap(new) if word[:1].isupper() else new.lower()


def counterfactual_twin(task: Task, response: str, rng: random.Random,
                        edits: dict[str, float] | None = None) -> str | None:
    """The same response with the truth words of one satisfied local criterion edited: swapped for
    a same-type distractor, deleted, replaced by a word of another type, or the sentences holding
    them removed, drawn from ``edits`` (default :data:`TWIN_EDITS`).

    Minimal pairs leave the truth tokens as the only evidence that tells the two verdicts apart;
    the twin's labels are, as always, whatever the checker says. ``None`` when the response has no
    satisfied local criterion."""
    table = TWIN_EDITS if edits is None else edits
    res = check(task, response)
    cands = [c for c in res.criteria if c.satisfied and c.local and c.truth_spans]
    if not cands:
        return None
    crit = rng.choice(cands)
    spans = sorted(crit.truth_spans)
    how = rng.choices(list(table), weights=list(table.values()))[0]
    if how == "drop":
        sents = analyze_response(response, task.prompt)
        drop = [(s.start, s.end) for s in sents if any(s.start <= a < s.end for a, _ in spans)]
        out, pos = [], 0
        for a, b in drop:
            out.append(response[pos:a])
            pos = b
        out.append(response[pos:])
        text = " ".join(x.strip() for x in out if x.strip())
        return text or None
    out, pos = [], 0
    for a, b in spans:
        if how == "blank":
            new = ""
            a = a - 1 if a > pos and response[a - 1] == " " else a  # the word and the space before it
        elif how == "other":
            new = _other_type(rng, response[a:b])
        else:
            new = _distractor(rng, response[a:b])
            if new is None:
                return None
        out += [response[pos:a], new]
        pos = b
    out.append(response[pos:])
    text = "".join(out)
    return text if text.strip() else None


def twins_by_edit(task: Task, response: str, rng: random.Random) -> dict[str, str]:
    """One counterfactual twin of ``response`` per edit of :data:`TWIN_EDITS` (in its order), where
    the edit applies: the evaluation set behind ``flip:EDIT``."""
    out = {}
    for how in TWIN_EDITS:
        tw = counterfactual_twin(task, response, rng, edits={how: 1.0})
        if tw and tw.strip():
            out[how] = tw
    return out
