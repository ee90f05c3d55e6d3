"""What a check finds: a status, one sentence, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    PROBLEM = "problem"


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the report. `action` says what to do (empty when nothing is needed)."""

    check: str
    status: Status
    message: str
    action: str = ""

    def line(self) -> str:
        text = f"{self.status.value:<8} {self.check}: {self.message}"
        return f"{text} -> {self.action}" if self.action else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status.value,
            "message": self.message,
            "action": self.action,
        }


def ok(check: str, message: str) -> Finding:
    return Finding(check, Status.OK, message)


def warning(check: str, message: str, action: str = "") -> Finding:
    return Finding(check, Status.WARNING, message, action)


def problem(check: str, message: str, action: str) -> Finding:
    return Finding(check, Status.PROBLEM, message, action)


@dataclass(frozen=True, slots=True)
class Report:
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.PROBLEM]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.WARNING]

    @property
    def exit_code(self) -> int:
        """0 when nothing is a problem (warnings included), 1 otherwise."""
        return 1 if self.problems else 0

    def summary(self) -> str:
        return (
            f"{len(self.findings)} checks: {len(self.problems)} problems, "
            f"{len(self.warnings)} warnings"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": not self.problems,
            "summary": self.summary(),
            "findings": [f.to_dict() for f in self.findings],
        }
