"""Offline evaluation of the assistant: datasets, metrics (no LLM judge), runs, reports and the CI gate.

Everything here goes through the same :class:`assistant.assistant.Assistant` the API uses, so a number in a
report is a number a user would see. Modules stay cheap to import (heavy imports live inside functions)
because ``evals.cli`` is attached to the main ``kota-kreatif`` command on every start.
"""
