"""The few named exceptions the rest of the code sees."""


class BounceDeskError(Exception):
    """Base for every error Bounce Desk reports to an operator."""


class SettingsError(BounceDeskError):
    """Configuration is missing or invalid; the message names the setting."""


class StoreUnavailable(BounceDeskError):
    """The database cannot be reached or refused the work; nothing was committed."""


class AwsConfigurationError(BounceDeskError):
    """AWS credentials or region are missing; the message says how to configure them."""


class AwsCallFailed(BounceDeskError):
    """An AWS call failed after retries; the message is AWS's own, in words."""


class SesThrottled(AwsCallFailed):
    """SES refused the call because of its request rate, even after backing off."""


class SesUnreachable(AwsCallFailed):
    """SES (or its endpoint) could not be reached at all; nothing was changed there."""


class SesAccessDenied(AwsCallFailed):
    """The AWS identity lacks a permission Bounce Desk needs; docs/aws.md lists them."""


class SesNotFound(BounceDeskError):
    """SES has no such thing: the address is not on the suppression list, or no such job."""


class InvalidInput(BounceDeskError, ValueError):
    """An argument from an operator or a page is unusable; the message says which and why."""


class PermissionDenied(BounceDeskError):
    """The acting person's role does not allow this; the message says which role does and
    whom to ask."""


class InvalidAddress(InvalidInput):
    """Text that is not one email address; the message says why (e.g. no '@')."""


class JobFailed(BounceDeskError):
    """A job (core.jobs) ran and failed; its run record holds the error."""
