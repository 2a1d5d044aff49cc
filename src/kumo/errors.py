"""Exception types: bad input and impossible configurations, each with enough context to fix it.

Outcomes of a simulation (a VM that fits nowhere, a broken SLA) are data in the results, never exceptions.
"""

from __future__ import annotations

from pathlib import Path


class KumoError(Exception):
    """Base class of every error kumo raises on purpose."""


class TraceFormatError(KumoError):
    """A trace file or folder that cannot be read as the format it claims to be.

    Parameters
    ----------
    path : file or folder at fault.
    reason : what is wrong, in words a user can act on.
    line : 1-based line number in ``path`` when the fault is on one line, else None.
    field : column name when the fault is in one column, else None.
    """

    def __init__(self, path: str | Path, reason: str, line: int | None = None, field: str | None = None):
        self.path = str(path)
        # one line, whatever a parser's message held: the CLI prints the error as one line
        reason = " ".join(reason.split()) if "\n" in reason or "\r" in reason else reason
        self.reason = reason
        self.line = line
        self.field = field
        where = self.path
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[str, str, int | None, str | None]]:
        # exceptions cross process boundaries in sweeps: rebuild from the fields, not from the message
        return (type(self), (self.path, self.reason, self.line, self.field))


class ConfigError(KumoError):
    """A scenario or experiment that is invalid; ``issues`` lists every problem as ``path: message``."""

    def __init__(self, issues: list[str], source: str | None = None):
        self.issues = list(issues)
        self.source = source
        head = f"{source}: " if source else ""
        body = "\n".join(f"  - {i}" for i in self.issues)
        super().__init__(f"{head}{len(self.issues)} problem(s) in the configuration:\n{body}")

    def __reduce__(self) -> tuple[type, tuple[list[str], str | None]]:
        return (type(self), (self.issues, self.source))


class UnknownPolicyError(KumoError, KeyError):
    """A policy name that is not registered; the message lists the valid names."""

    def __init__(self, kind: str, name: str, valid: list[str]):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"unknown {kind} policy '{name}'; valid: {', '.join(self.valid)}")

    def __reduce__(self) -> tuple[type, tuple[str, str, list[str]]]:
        return (type(self), (self.kind, self.name, self.valid))

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0])


class PluginError(KumoError):
    """A plugin that cannot be used: a module that does not import, a policy that breaks the contract
    (missing method, not a frozen dataclass, a name already taken), a bad entry point.

    ``details`` (e.g. the plugin module's own traceback) is shown once, under the message.
    """

    def __init__(self, message: str, details: str | None = None):
        self.message = message
        self.details = details
        super().__init__(message if not details else f"{message}\n\n{details.rstrip()}")

    def __reduce__(self) -> tuple[type, tuple[str, str | None]]:
        return (type(self), (self.message, self.details))


class PolicyError(KumoError):
    """A policy broke its contract at run time (a wrong return shape or type, an index out of range).

    Parameters
    ----------
    kind, name : the policy's kind and registered name (``"?"`` when unknown).
    reason : what it returned and what was expected.
    """

    def __init__(self, kind: str, name: str, reason: str):
        self.kind, self.name, self.reason = kind, name, reason
        super().__init__(f"{kind} policy '{name}': {reason}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        return (type(self), (self.kind, self.name, self.reason))
