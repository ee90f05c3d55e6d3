"""How strictly each entry point checks SNS signatures, and how strictly a dead letter is retried.

Every entry point has a verify mode (`off` < `when_present` < `required`, settings
`verify_sns_file`, `verify_sns_sqs`, `verify_sns_lambda`). A dead letter records the entry
point that refused it and a floor: the mode it was refused under, raised to `required` when
the refusal was its signature. A retry uses the strictest of

- the mode the caller asked for (the retry command's `--verify`, else `verify_sns_file`),
- today's mode of the letter's entry point (the strictest of all when it is unknown),
- the letter's floor,

so a retry never verifies less than the path that refused the letter, and a letter refused
for its signature is resolved only by a signature that verifies (`required`), never by a
weaker mode or a later change of settings. See docs/aws.md, "SNS signatures and topics".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import get_args

from core.settings import Settings, VerifyMode

MODES: tuple[VerifyMode, ...] = get_args(VerifyMode)  # weakest first
# The reason code an envelope gets when its signature is missing or does not verify.
SIGNATURE_REFUSED = "bad_signature"


def strictest(*modes: VerifyMode | str | None) -> VerifyMode:
    """The strictest of `modes` (`off` when none is given); unknown values count as `required`."""
    ranks = [MODES.index(mode) if mode in MODES else len(MODES) - 1 for mode in modes if mode]
    return MODES[max(ranks, default=0)]


def entry_point_modes(settings: Settings) -> dict[str, VerifyMode]:
    """Each entry point's configured mode; uploads and retries follow the file setting."""
    return {
        "file": settings.verify_sns_file,
        "upload": settings.verify_sns_file,
        "retry": settings.verify_sns_file,
        "sqs": settings.verify_sns_sqs,
        "lambda": settings.verify_sns_lambda,
    }


def refusal_floor(mode: VerifyMode, reason_code: str) -> VerifyMode:
    """The least a retry of a letter refused under `mode` for `reason_code` must verify."""
    return "required" if reason_code == SIGNATURE_REFUSED else mode


def retry_mode(
    caller: VerifyMode,
    modes: Mapping[str, VerifyMode],
    entry_point: str | None,
    floor: str | None,
) -> VerifyMode:
    """The mode a dead letter is retried under (the module docstring gives the rule)."""
    if entry_point is not None and entry_point in modes:
        recorded = modes[entry_point]
    else:
        recorded = strictest(*modes.values())
    return strictest(caller, recorded, floor)
