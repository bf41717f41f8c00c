"""A reader for PostgreSQL data dumps made of `INSERT INTO t (cols) VALUES (...), (...);`
statements, as `pg_dump --inserts` and DBeaver write them. It never runs SQL: it yields rows as
dicts, so the same file loads into SQLite and PostgreSQL alike.

What psql would do is the model: a statement that does not parse is skipped (and reported with
its line); only a file that is not such a dump at all is an error (`SqlDumpError`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class SqlDumpError(Exception):
    """The file is not a readable INSERT dump; `line` is where reading stopped."""

    def __init__(self, path: Path | str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Statement:
    line: int  # 1-based line where the statement starts
    text: str


@dataclass(frozen=True)
class Row:
    table: str
    line: int  # 1-based line of the row's opening parenthesis
    values: dict


@dataclass(frozen=True)
class SkippedStatement:
    line: int
    reason: str
    text: str
    after_table: str | None  # the table of the last INSERT before it: stray rows belong there


# Statements that dumps carry besides the data; they have no effect on our side.
_IGNORED_PREFIXES = ("SET ", "SELECT PG_CATALOG.", "BEGIN", "COMMIT", "START TRANSACTION")

_INSERT = re.compile(
    r"\s*INSERT\s+INTO\s+(?P<table>(?:\"[^\"]+\"|[\w$]+)(?:\s*\.\s*(?:\"[^\"]+\"|[\w$]+))?)\s*"
    r"\((?P<columns>[^)]*)\)\s*VALUES\s*",
    re.IGNORECASE | re.DOTALL,
)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.])
      | (?P<word>NULL|TRUE|FALSE)(?!\w)
      | (?P<open>\()
      | (?P<close>\))
      | (?P<comma>,)
      | (?P<cast>::\s*[\w ]+(?:\[\])?)
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_WORDS = {"null": None, "true": True, "false": False}


def iter_statements(path: Path | str) -> Iterator[Statement]:
    """Split the file at semicolons outside string literals, streaming line by line.

    Every `'` toggles the quoted state, which handles the `''` escape for free (dumps use
    standard-conforming strings; backslash `E'...'` strings are not supported). `--` comments
    outside strings are dropped."""
    path = Path(path)
    buffer: list[str] = []
    start_line = 0
    in_quote = False
    line_number = 0
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for line_number, line in enumerate(handle, start=1):
                if not in_quote and not buffer and (not line.strip() or line.lstrip().startswith("--")):
                    continue
                if not buffer:
                    start_line = line_number
                position = 0
                for match in re.finditer(r"'|;|--", line):
                    token = match.group()
                    if token == "'":
                        in_quote = not in_quote
                    elif in_quote:
                        continue
                    elif token == "--":
                        line = line[: match.start()] + "\n"
                        break
                    else:
                        buffer.append(line[position : match.start()])
                        text = "".join(buffer).strip()
                        if text:
                            yield Statement(start_line, text)
                        buffer = []
                        position = match.end()
                        start_line = line_number
                rest = line[position:]
                if buffer or rest.strip():
                    buffer.append(rest)
    except UnicodeDecodeError as error:
        raise SqlDumpError(path, line_number + 1, f"not a UTF-8 text file ({error.reason})") from error
    if in_quote:
        raise SqlDumpError(path, start_line, "the file ends inside a string literal (truncated?)")
    text = "".join(buffer).strip()
    if text:
        yield Statement(start_line, text)


def parse_insert(text: str) -> tuple[str, list[str], list[tuple[int, list]]]:
    """Parse one INSERT statement into (table, columns, [(line offset, values)]).

    Raises ValueError with a short reason when the statement is not a well-formed INSERT."""
    header = _INSERT.match(text)
    if header is None:
        raise ValueError("not an INSERT INTO ... (columns) VALUES statement")
    table = header.group("table").split(".")[-1].strip().strip('"')
    columns = [column.strip().strip('"') for column in header.group("columns").split(",")]
    rows: list[tuple[int, list]] = []
    position = header.end()
    length = len(text.rstrip())
    expect = "open"
    current: list | None = None
    row_start = 0
    while True:
        if position >= length:
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"unexpected text {text[position : position + 30].strip()!r}")
        kind = match.lastgroup
        position = match.end()
        if kind == "cast":
            if expect != "comma_or_close":
                raise ValueError("misplaced type cast")
            continue
        if expect == "open":
            if kind != "open":
                raise ValueError(f"expected '(' but found {match.group().strip()!r}")
            current, row_start, expect = [], match.start(kind), "value"
        elif expect == "value":
            if kind == "string":
                current.append(match.group("string")[1:-1].replace("''", "'"))
            elif kind == "number":
                literal = match.group("number")
                current.append(float(literal) if any(c in literal for c in ".eE") else int(literal))
            elif kind == "word":
                current.append(_WORDS[match.group("word").lower()])
            elif kind == "close" and not current:
                raise ValueError("empty value list")
            else:
                raise ValueError(f"expected a value but found {match.group().strip()!r}")
            expect = "comma_or_close"
        elif expect == "comma_or_close":
            if kind == "comma":
                expect = "value"
            elif kind == "close":
                if len(current) != len(columns):
                    raise ValueError(f"a row has {len(current)} values for {len(columns)} columns")
                rows.append((text.count("\n", 0, row_start), current))
                current, expect = None, "next_row"
            else:
                raise ValueError(f"expected ',' or ')' but found {match.group().strip()!r}")
        elif expect == "next_row":
            if kind != "comma":
                raise ValueError(f"expected ',' between rows but found {match.group().strip()!r}")
            expect = "open"
    if expect != "next_row":
        raise ValueError("the statement ends inside a row")
    return table, columns, rows


def read_dump(path: Path | str, skipped: list[SkippedStatement]) -> Iterator[Row]:
    """Yield every row of every INSERT statement of the file, in file order.

    A statement that does not parse is appended to `skipped` and left out, as psql leaves it
    out. A file whose first statement is not an INSERT, or that holds no INSERT at all, is not a
    dump: `SqlDumpError`."""
    found_insert = False
    table = None
    for statement in iter_statements(path):
        if statement.text.upper().startswith(_IGNORED_PREFIXES):
            continue
        try:
            table, columns, rows = parse_insert(statement.text)
        except ValueError as error:
            if not found_insert:
                raise SqlDumpError(path, statement.line, f"not a PostgreSQL INSERT dump: {error}") from None
            skipped.append(SkippedStatement(statement.line, str(error), _abbreviate(statement.text), table))
            continue
        found_insert = True
        for offset, values in rows:
            yield Row(table, statement.line + offset, dict(zip(columns, values, strict=True)))
    if not found_insert:
        raise SqlDumpError(path, 1, "not a PostgreSQL INSERT dump: no INSERT statement found")


def parse_array(literal: str | None) -> list[str]:
    """A PostgreSQL array literal of text (`{a,"b,c",NULL}`) as a list of strings (NULLs dropped)."""
    if literal is None:
        return []
    text = literal.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError(f"not an array literal: {literal[:40]!r}")
    items: list[str] = []
    for match in re.finditer(r'"((?:[^"\\]|\\.)*)"|([^,{}"]+)', text[1:-1]):
        if match.group(1) is not None:
            items.append(re.sub(r"\\(.)", r"\1", match.group(1)))
        elif match.group(2).strip().upper() != "NULL":
            items.append(match.group(2).strip())
    return items


def _abbreviate(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
