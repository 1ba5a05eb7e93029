"""Errors the engine raises for its callers; the web layer maps each to one HTTP status."""
from __future__ import annotations


class EngineError(Exception):
    """Base class; `message` is what a person reads."""

    status = 400

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotFound(EngineError):
    status = 404


class Conflict(EngineError):
    """The instance or task changed under the caller (optimistic lock, task no longer open)."""

    status = 409


class StaleWrite(Conflict):
    """Another transaction changed the instance between our read and our write; the same
    action on a fresh read may well succeed, so callers acting for a person retry it."""


class Invalid(EngineError):
    """Input that cannot be accepted; `errors` is keyed by field or file."""

    status = 422


class Forbidden(EngineError):
    status = 403
