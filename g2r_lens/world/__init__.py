"""The bundled rubric world: vocabulary, task schema, generator, response sampler and exact checker.

Modules, each importing only those above it: :mod:`~g2r_lens.world.vocab` (words),
:mod:`~g2r_lens.world.schema` (criteria, tasks, task files), :mod:`~g2r_lens.world.checker` (the
exact checker; its conventions are in its docstring), :mod:`~g2r_lens.world.prompts` (task
generator, splits) and :mod:`~g2r_lens.world.responses` (response sampler). These are pure Python;
the models live in :mod:`~g2r_lens.world.bundle` (the shipped world) and
:mod:`~g2r_lens.world.build` (rebuilding it).
"""

from .checker import (MAX_SENTENCE_WORDS, MIN_SENTENCE_WORDS, VERBS, CheckResult, CriterionCheck,
                      Sentence, Word, analyze_response, check, token_truth)
from .prompts import generate_tasks, make_splits, scene_split, write_splits
from .responses import ADVERSARIAL_MODES, RESPONSE_MODES, response_modes, sample_response
from .schema import SPLIT_FILES, SPLITS, Criterion, Task, load_splits, make_criterion, read_tasks
from .vocab import CHECKS, CRITERION_TEMPLATES, KINDS

__all__ = [
    "Criterion", "Task", "make_criterion", "generate_tasks", "make_splits", "write_splits",
    "read_tasks", "load_splits", "scene_split", "sample_response", "RESPONSE_MODES",
    "ADVERSARIAL_MODES", "response_modes", "KINDS", "CHECKS", "SPLITS", "SPLIT_FILES",
    "CRITERION_TEMPLATES",
    "check", "token_truth", "analyze_response", "CheckResult", "CriterionCheck", "Sentence",
    "Word", "VERBS", "MIN_SENTENCE_WORDS", "MAX_SENTENCE_WORDS",
]
