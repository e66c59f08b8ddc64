"""Telegram bot: a thin python-telegram-bot v22 adapter over :class:`assistant.assistant.Assistant`.

``app`` builds and runs the Application (polling, or webhook inside the API), ``handlers`` maps updates to
``Assistant`` calls, ``formatting`` turns answers into safe, size-bounded HTML messages, ``logsafe`` keeps the
bot token out of every log line.
"""
