"""Typed errors for user mistakes.

Every error a user can trigger with bad input derives from :class:`G2RError` (itself a
``ValueError``) and names the problem in plain words, so that callers never see a stack trace from
deep inside torch for a mistake of theirs.
"""

from __future__ import annotations


class G2RError(ValueError):
    """Base class of every g2r_lens input error."""


class EmptyResponseError(G2RError):
    """The response to judge is empty or whitespace only."""


class ResponseNotFoundError(G2RError):
    """The response could not be located in the rendered judge prompt."""


class InputTooLongError(G2RError):
    """The rendered judge prompt is longer than the judge's context window."""


class VerdictTokenError(G2RError):
    """A verdict word is not a single token of the judge's vocabulary."""


class RubricError(G2RError):
    """The rubric is malformed (no criteria, no positive weight, non-finite weight...)."""


class NonFiniteScoresError(G2RError):
    """An attribution method produced NaN or infinite scores."""


class UnknownNameError(G2RError):
    """A name (method, estimator, reward mode, loss, reducer...) is not in its registry."""


class DuplicateNameError(G2RError):
    """A second object was registered under a name a registry already holds."""


class UnknownMethodError(UnknownNameError):
    """The attribution method name is not registered."""


class ModelLoadError(G2RError):
    """The judge model or tokenizer could not be loaded."""


class TemplateError(G2RError):
    """The judge prompt template is malformed."""


class WorldError(G2RError):
    """A rubric-world input is malformed (task, criterion spec, split, mode) or a world build failed."""


class TokenizationError(G2RError):
    """User text could not be encoded as plain text (it would become a control token)."""


class ParameterError(G2RError):
    """A method or run parameter has the wrong type or is out of range."""


class RunFolderError(G2RError):
    """A run folder (or a file in it) is missing, malformed or leaves the runs root."""
