"""The one exception type that reaches users as a single clear line."""


class EnasError(Exception):
    """A problem with the user's input (flag, file, data, architecture) or a run that must stop.

    Library code raises it with a message that names the problem and, where it helps, the fix.
    The console scripts catch it, print ``error: <message>`` on one line and exit non-zero,
    so no stack trace reaches the user.
    """
