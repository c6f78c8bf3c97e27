"""The errors a user can act on. The CLI prints their message on one line and exits with the code."""
from __future__ import annotations


class AgoraError(Exception):
    """A problem with the user's input or workspace, explained in one line."""

    exit_code = 1


class WorkspaceBusy(AgoraError):
    """Another process holds the catalog for writing; trying again later will work."""

    exit_code = 3


class NotFound(AgoraError):
    exit_code = 4
