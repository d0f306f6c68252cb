"""The one exception type for mistakes a user can fix: bad files, bad columns, bad flags."""


class UserError(Exception):
    """A problem with the input that the user can fix; the CLI prints it on one line, exit 2.

    The message says what was received, what was expected and how to fix it.
    """
