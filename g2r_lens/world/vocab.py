"""The world's vocabulary: a few hundred plain English words and the fixed criterion texts.

The world is small on purpose: a few hundred plain English words, so that tiny language models
(1-8M parameters) can learn to write responses and to judge them, and so that a person reading a
token heatmap understands every word of it.
"""

from __future__ import annotations

__all__ = [
    "NAMES", "EVENTS", "PLACES", "WEEKDAYS", "ITEMS", "AVOID_TOPICS", "RUDE_WORDS", "GREETINGS",
    "PEOPLE_NOUNS", "NUMBERS", "NUMBER_WORDS", "SENTENCE_LIMITS", "WORD_LIMITS", "KINDS", "CHECKS",
    "CRITERION_TEMPLATES", "DEFAULT_KIND",
]

NAMES = ("Maya", "Tom", "Lena", "Omar", "Sara", "Ben", "Nina", "Leo", "Ada", "Sam", "Ruth", "Jack",
         "Ivy", "Max", "Zoe", "Eli", "Mia", "Noah", "Ana", "Paul")
EVENTS = ("picnic", "party", "concert", "dinner", "game", "trip", "lunch", "fair", "market", "race",
          "quiz", "hike", "movie", "festival", "barbecue", "workshop")
PLACES = ("park", "beach", "library", "garden", "school", "museum", "cafe", "lake", "station",
          "hall", "farm", "river", "bakery", "stadium")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ITEMS = ("cake", "map", "ball", "tent", "blanket", "camera", "guitar", "kite", "lamp", "bread",
         "juice", "radio")
AVOID_TOPICS = ("rain", "cost", "traffic", "noise", "mud", "wind", "delay", "heat", "crowd", "bill",
                "homework", "exam")
RUDE_WORDS = ("stupid", "dumb", "lazy", "useless", "pathetic", "idiotic")
GREETINGS = ("hi", "hello", "dear", "hey")
#: nouns that make "<digits> <noun>" a statement of the number of people
PEOPLE_NOUNS = ("people", "guests")
NUMBERS = tuple(range(2, 13))
#: number words: never accepted by the checker (digits only), used by the sampler for wrong answers
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
                9: "nine", 10: "ten", 11: "eleven", 12: "twelve"}
SENTENCE_LIMITS = (3, 4, 5)
WORD_LIMITS = (40, 50, 60)

KINDS = ("required", "forbidden", "prompt_dependent", "nonlocal")
CHECKS = ("mention", "avoid", "greet", "count", "day", "order", "max_sentences", "max_words")

#: the fixed criterion texts, by (check, variant); ``{}`` fields come from the task
CRITERION_TEMPLATES = {
    ("mention", "event"): "The response mentions the {word}.",
    ("mention", "place"): "The response mentions the {word}.",
    ("mention", "item"): "The response mentions the {word}.",
    ("mention", "event_prompt"): "The response names the event given in the prompt.",
    ("mention", "place_prompt"): "The response names the place given in the prompt.",
    ("mention", "item_prompt"): "The response mentions the thing the prompt asks to bring.",
    ("avoid", "topic"): "The response mentions the {word}.",
    ("avoid", "rude"): "The response contains a rude word.",
    ("greet", ""): "The response greets the person named in the prompt.",
    ("count", ""): "The response states the number of people given in the prompt.",
    ("day", ""): "The response gives the day named in the prompt.",
    ("order", ""): "The response mentions the day before the place.",
    ("max_sentences", ""): "The response uses at most {n} sentences.",
    ("max_words", ""): "The response uses at most {n} words.",
}

#: the kind a criterion gets when its JSON or its builder does not name one
DEFAULT_KIND = {"mention": "required", "avoid": "forbidden", "greet": "prompt_dependent",
                 "count": "prompt_dependent", "day": "prompt_dependent", "order": "nonlocal",
                 "max_sentences": "nonlocal", "max_words": "nonlocal"}

