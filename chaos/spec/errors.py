"""Input errors as `file:line:col: field: message` lines: the user fixes input, not code."""

from __future__ import annotations

import msgspec


class Problem(msgspec.Struct, frozen=True):
    """One thing wrong with an input file, located as precisely as we know."""

    file: str
    message: str
    field: str = ""
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        message = one_line(self.message)
        field = one_line(self.field, 200)
        return f"{where}: {field}: {message}" if field else f"{where}: {message}"


class SpecError(Exception):
    """Bad input (exit 2): one or more problems, each printable on one line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    @classmethod
    def one(cls, file: str, message: str, **where: object) -> SpecError:
        return cls([Problem(file, message, **where)])  # type: ignore[arg-type]


MAX_MESSAGE = 400


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """A message that stays on one line whatever input it quotes."""
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def path_text(path: tuple[str | int, ...]) -> str:
    """('faults', 2, 'duration') -> 'faults[2].duration'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
