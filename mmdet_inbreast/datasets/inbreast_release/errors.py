"""The error type of the release readers."""
from ...utils.errors import InputError


class ReleaseError(InputError):
    """A file of the release that cannot be used; the message names the file
    and the fix."""
