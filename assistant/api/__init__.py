"""HTTP adapter: a FastAPI app over the :class:`~assistant.assistant.Assistant` facade (and the web chat page).

The only package of ``assistant`` that imports FastAPI; it validates, authenticates, limits and serialises, and
leaves retrieval and answering to the core.
"""

from assistant.api.app import create_app

__all__ = ["create_app"]
