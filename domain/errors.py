"""Errors the campaign model raises; each is raised before any state changes."""

from __future__ import annotations


class DomainError(Exception):
    """A command or input the campaign model refuses."""


class IllegalTransitionError(DomainError):
    """A command that the campaign's current state does not allow."""

    def __init__(self, command: str, status: str) -> None:
        super().__init__(f"cannot {command} a campaign that is {status}")
        self.command = command
        self.status = status


class AttemptOutOfOrderError(DomainError):
    """An attempt for a contact other than the one the campaign is at."""


class InvalidPacingError(DomainError):
    """Pacing whose bounds are negative or inverted."""


class InvalidTemplateError(DomainError):
    """A message template that cannot be rendered."""
