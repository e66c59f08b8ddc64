"""Chat adapters over the ``Assistant`` facade (Telegram today). Only this package imports ``telegram``."""
