"""Logging set-up for the server process: plain text or one JSON object per line (``log_json``).

Both formatters redact personal data (e-mails, phone numbers, card and ID numbers, street addresses;
:func:`shopmind.privacy.redact_pii`) from the message, every string field and the traceback, so a
customer's message quoted in an error or a path naming an e-mail never reaches the log sink.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from shopmind.config import Settings
from shopmind.privacy import redact_pii

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", ...extra fields}``; exceptions as a ``exc`` string."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact_pii(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                if isinstance(value, int | float | bool | None):
                    payload[key] = value
                else:
                    payload[key] = redact_pii(value if isinstance(value, str) else str(value))
        if record.exc_info:
            payload["exc"] = redact_pii(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


class RedactingFormatter(logging.Formatter):
    """The plain-text formatter with :func:`~shopmind.privacy.redact_pii` applied to the whole line."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_pii(super().format(record))


def logging_config(settings: Settings) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict, also handed to uvicorn as ``log_config``."""
    formatter = (
        {"()": "shopmind.api.logs.JsonFormatter"}
        if settings.log_json
        else {
            "()": "shopmind.api.logs.RedactingFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        }
    )
    level = settings.log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            "uvicorn": {"level": level},
            "uvicorn.error": {"level": level},
            # the service middleware writes one access line per request with route and duration
            "uvicorn.access": {"level": "WARNING"},
            "shopmind.api.access": {"level": level},
        },
    }


def configure(settings: Settings) -> None:
    import logging.config

    logging.config.dictConfig(logging_config(settings))
