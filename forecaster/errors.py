"""The one exception type for mistakes a user can fix (bad files, bad columns, bad flags), and the
small helpers that word its messages."""


class UserError(Exception):
    """A problem with the input that the user can fix; the CLI prints it on one line, exit 2.

    The message says what was received, what was expected and how to fix it.
    """


def count(number: int, noun: str) -> str:
    """'1 row', '2 rows': a number and its noun, for messages ('series' is its own plural)."""
    return f"{number} {noun}{'' if number == 1 or noun.endswith('series') else 's'}"


def place(index) -> str:
    """What the labels of a table's rows count, for messages: "row" for a Parquet file's rows
    (`read_table` names its index so), "line" for a CSV file's lines (and anything else)."""
    return "row" if getattr(index, "name", None) == "row" else "line"


def listing(names) -> str:
    return ", ".join(repr(str(n)) for n in names)
