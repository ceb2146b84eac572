"""The root of every error the toolkit raises on purpose.

Each layer derives its own typed errors from :class:`SscardError`, so a caller (the CLI above all)
can tell "something we understood went wrong" from a bug, and print the former plainly.
"""


class SscardError(Exception):
    """Base class of every error raised deliberately by sscard-issuer."""


class FieldError(SscardError, ValueError):
    """One input field is invalid: names the field and what was expected."""

    def __init__(self, field: str, expected: str, got: object = None) -> None:
        self.field = field
        self.expected = expected
        self.got = got
        shown = "" if got is None else f" (got {got!r})"
        super().__init__(f"{field}: expected {expected}{shown}")


class ValidationError(SscardError, ValueError):
    """Several fields are invalid; every one is reported at once."""

    def __init__(self, errors: list[FieldError]) -> None:
        if not errors:
            raise ValueError("ValidationError needs at least one FieldError")
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))
