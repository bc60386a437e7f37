"""The bundled rubric world: task generator, response sampler and exact checker.

Pure Python (no torch). See :mod:`g2r_lens.world.tasks` for the world and
:mod:`g2r_lens.world.checker` for the checker's conventions.
"""

from .checker import (MAX_SENTENCE_WORDS, MIN_SENTENCE_WORDS, VERBS, CheckResult, CriterionCheck,
                      Sentence, Word, analyze_response, check, token_truth)
from .tasks import (ADVERSARIAL_MODES, CHECKS, CRITERION_TEMPLATES, KINDS, RESPONSE_MODES,
                    SPLIT_FILES, SPLITS, Criterion, Task, generate_tasks, load_splits,
                    make_criterion, make_splits, read_tasks, response_modes, sample_response,
                    scene_split, write_splits)

__all__ = [
    "Criterion", "Task", "make_criterion", "generate_tasks", "make_splits", "write_splits",
    "read_tasks", "load_splits", "scene_split", "sample_response", "RESPONSE_MODES",
    "ADVERSARIAL_MODES", "response_modes", "KINDS", "CHECKS", "SPLITS", "SPLIT_FILES",
    "CRITERION_TEMPLATES",
    "check", "token_truth", "analyze_response", "CheckResult", "CriterionCheck", "Sentence",
    "Word", "VERBS", "MIN_SENTENCE_WORDS", "MAX_SENTENCE_WORDS",
]
