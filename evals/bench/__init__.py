"""``kota-kreatif bench``: speed, memory and quality of the real system at three corpus sizes.

Importing this package must stay cheap (``assistant/cli.py`` attaches :data:`app` on every start), so it pulls
in only typer; numpy, chromadb, the assistant and pyinstrument are imported inside the commands.
"""

from evals.bench.cli import app

__all__ = ["app"]
