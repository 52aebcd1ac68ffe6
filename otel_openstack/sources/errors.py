"""The one error type for bad trace input: the CLI prints its message on one line."""


class TraceInputError(ValueError):
    """A trace file, folder or store answer we cannot read; ``str()`` is the user message."""
