"""Translatable Messages (research §8): ``{type, code, text, params}``."""

from __future__ import annotations

import typing as t

from emulators.framework.http import HTTPError


class AdnError(HTTPError):
    """An error answered with one Translatable Message."""

    def __init__(self, status: int, code: str, text: str,
                 params: dict[str, t.Any] | None = None, *,
                 kind: str = "ErrorMessage") -> None:
        """``text`` holds ``{{name}}`` placeholders filled from ``params``."""
        super().__init__(status, fill(text, params or {}))
        self.code, self.text, self.params, self.kind = code, text, params or {}, kind

    def body(self) -> dict[str, t.Any]:
        """The message object."""
        return message(self.code, self.text, self.params, kind=self.kind)


def fill(text: str, params: dict[str, t.Any]) -> str:
    """``{{name}}`` placeholders replaced by their values."""
    for name, value in params.items():
        text = text.replace("{{" + name + "}}", str(value))
    return text


def message(code: str, text: str, params: dict[str, t.Any] | None = None, *,
            kind: str = "ErrorMessage") -> dict[str, t.Any]:
    """One Translatable Message; ``params`` is a name -> value map (the docs describe a map)."""
    return {"type": kind, "code": code, "text": text, "params": params or {}}


#: GUESS: message codes for the framework's plain errors (injected faults, bugs).
STATUS_CODES = {400: "error.bad.request", 401: "error.unauthorised", 403: "error.forbidden",
                404: "error.not.found", 405: "error.method.not.allowed",
                429: "error.too.many.requests", 500: "error.internal.server",
                502: "error.bad.gateway", 503: "error.service.unavailable"}
