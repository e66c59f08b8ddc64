"""Answer strategies. The default is extractive (no LLM); LLM generators plug in behind the same base."""

from assistant.answer.base import ABSTAIN_TEXT, Answerer, Draft
from assistant.answer.extractive import ExtractiveAnswerer

__all__ = ["ABSTAIN_TEXT", "Answerer", "Draft", "ExtractiveAnswerer"]
