"""Former home of the world's schema, generator and sampler; kept so that old imports still work.

New code imports from :mod:`g2r_lens.world` or from the module that owns the name:
:mod:`~g2r_lens.world.vocab` (words), :mod:`~g2r_lens.world.schema` (criteria, tasks, task files),
:mod:`~g2r_lens.world.prompts` (generator, splits) and :mod:`~g2r_lens.world.responses` (sampler).
"""

from __future__ import annotations

from .prompts import generate_tasks, make_splits, scene_split, write_splits
from .responses import ADVERSARIAL_MODES, RESPONSE_MODES, response_modes, sample_response
from .schema import SPLIT_FILES, SPLITS, Criterion, Task, load_splits, make_criterion, read_tasks, write_tasks
from .vocab import (AVOID_TOPICS, CHECKS, CRITERION_TEMPLATES, EVENTS, GREETINGS, ITEMS, KINDS, NAMES,
                    NUMBER_WORDS, PEOPLE_NOUNS, PLACES, RUDE_WORDS, WEEKDAYS)

__all__ = [
    "NAMES", "EVENTS", "PLACES", "WEEKDAYS", "ITEMS", "AVOID_TOPICS", "RUDE_WORDS", "GREETINGS",
    "PEOPLE_NOUNS", "NUMBER_WORDS", "KINDS", "CHECKS", "SPLITS", "SPLIT_FILES", "RESPONSE_MODES",
    "ADVERSARIAL_MODES", "response_modes", "CRITERION_TEMPLATES",
    "Criterion", "Task", "make_criterion", "scene_split", "generate_tasks", "make_splits",
    "write_splits", "write_tasks", "read_tasks", "load_splits", "sample_response",
]
