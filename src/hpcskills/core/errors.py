"""Typed errors that map one-to-one onto the exit codes of the output contract."""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_BUG = 1
EXIT_BAD_INPUT = 2
EXIT_CONFIRM = 3
EXIT_AUTH = 4
EXIT_REMOTE = 5
EXIT_NOT_FOUND = 6


class HpcError(Exception):
    """An expected failure: reported as a JSON error object, never as a traceback."""

    exit_code = EXIT_BUG
    default_type = "error"

    def __init__(
        self,
        message: str,
        *,
        type: str | None = None,
        hint: str | None = None,
        retryable: bool = False,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.type = type or self.default_type
        self.hint = hint
        self.retryable = retryable
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The error object of the output contract."""
        return {
            "type": self.type,
            "message": self.message,
            "hint": self.hint,
            "retryable": self.retryable,
            **self.details,
        }


class BadInput(HpcError):
    """The caller asked for something invalid; nothing was changed."""

    exit_code = EXIT_BAD_INPUT
    default_type = "bad_input"


class ConfirmationRequired(HpcError):
    """A risky action was planned but not executed; the plan carries a confirm token."""

    exit_code = EXIT_CONFIRM
    default_type = "confirmation_required"


class AuthRequired(HpcError):
    """Credentials are missing, expired or refused, or 2FA was denied or timed out."""

    exit_code = EXIT_AUTH
    default_type = "auth_required"


class RemoteError(HpcError):
    """The remote service or host failed; `retryable` says whether a retry may help."""

    exit_code = EXIT_REMOTE
    default_type = "remote_error"


class NotFound(HpcError):
    """The named job, file or record does not exist."""

    exit_code = EXIT_NOT_FOUND
    default_type = "not_found"
