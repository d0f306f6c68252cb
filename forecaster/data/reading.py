"""Reading a CSV or Parquet file into a table: encodings, separators, comment lines, ragged rows,
binary files.

`read_table` gives the file as pandas reads it, indexed by each row's line number in a CSV file
(index named "line") or its row number in a Parquet file ("row"), so that every later message can
name the line or row it is about (`forecaster.errors.place`).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from forecaster.errors import UserError, count


def read_table(path: str | Path, keep=None) -> pd.DataFrame:
    """The CSV as pandas reads it, indexed by each row's line number in the file (the header is
    line 1 of a plain file), or a UserError saying why it cannot be read. A Parquet file (known by
    its first bytes, whatever its name) is read by Arrow, indexed by row number from 1, its columns
    typed as written (timestamps stay timestamps).

    `keep`: a function of some of the table's columns ({name: cells}, Arrow arrays or pandas
    columns) -> (rows,) bool, the rows to keep; where Arrow reads the file it is applied to each
    block as it is read, so that a share of a big file is held, never the whole of it. The rows
    kept keep their line (or row) numbers.

    UTF-8 with or without a byte-order mark; Windows or Unix line endings; fields separated by
    commas, or by ';', tabs or '|' when the header has no comma. Lines starting with '#' and blank
    lines are skipped, and so are rows whose cells are all empty. Every other row must have as many
    fields as the header (a trailing separator aside).
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} does not exist; pass the path of a CSV or Parquet file.")
    if not path.is_file():
        raise UserError(f"{path} is a directory, not a file; pass the path of a CSV or Parquet file.")
    try:
        with open(path, "rb") as file:
            head = file.read(_HEAD)
        if head.startswith(PARQUET_MAGIC):
            return _checked(_read_parquet(path, keep), path, None)
        _check_text(head, path)  # a binary file or another encoding is refused before it is read
        if _starts_plainly(head):  # the usual file: Arrow reads it, row i from line i + 2
            header = _first_line(head)
            fast = _read_arrow_csv(path, _separator(header), head, keep)
            if fast is not None:
                return _checked(fast, path, header)
        plain = _plain(path, head)
        data = None if plain else path.read_bytes()
    except OSError as error:
        raise UserError(
            f"{path} cannot be read ({error.strerror}); expected a readable CSV file. Check its "
            f"permissions.") from None
    if plain:  # no comment or blank line: pandas reads it from disk; row i is on line i + 2
        header = _first_line(head)
        numbers = None
    else:  # comment or blank lines: drop them, remembering the line number of each kept line
        lines, numbers = _content_lines(_decode(data, path))
        if not lines:
            what = "holds only comment or blank lines" if data.strip() else "is empty"
            raise UserError(f"{path} {what}; expected a header line and rows of data.")
        header, text = lines[0], "\n".join(lines) + "\n"
    separator = _separator(header)

    def line_of(number: int) -> int:
        """The file's line number of line `number` of what pandas read."""
        return number if numbers is None else numbers[min(number, len(numbers)) - 1]

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            raw = pd.read_csv(path if plain else io.StringIO(text), sep=separator, encoding="utf-8-sig",
                              skipinitialspace=True, index_col=False)
    except UnicodeDecodeError:
        _decode(path.read_bytes(), path)  # raises, naming the line
        raise
    except pd.errors.EmptyDataError:
        raise UserError(f"{path} is empty; expected a header line and rows of data.") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError, OverflowError) as error:
        raise _malformed(path, error, separator, line_of) from None
    rows = len(raw)
    raw.index = pd.Index(np.arange(rows) + 2 if numbers is None or len(numbers) != rows + 1
                         else numbers[1:], name="line")
    _refuse_short_rows(raw, path, header, separator, None if plain else lines, numbers)
    raw = _checked(raw, path, header)
    if keep is None:
        return raw
    kept = raw[keep({name: raw[name] for name in raw.columns})]
    kept.attrs["rows_read"] = len(raw)
    return kept


def _checked(raw: pd.DataFrame, path: Path, header: str | None) -> pd.DataFrame:
    """`raw` with its column names as stripped text and its rows of only empty cells dropped, or
    a UserError for a table with no rows or one column. `header`: a CSV's header line; None for
    a Parquet file."""
    raw.columns = [str(c).strip() for c in raw.columns]
    blank = raw.iloc[:, 0].isna() if len(raw.columns) else None  # all-empty rows, looked for cheaply
    if blank is not None and blank.any():
        raw = raw[~(blank & raw.isna().all(axis=1))]
    if raw.empty and not raw.attrs.get("rows_read"):  # rows read, none kept: the caller's to say
        what = "a header but no rows" if header is not None else "no rows"
        raise UserError(f"{path} has {what}; expected rows of data{' under it' if header else ''}.")
    if len(raw.columns) < 2:
        if header is None:
            raise UserError(f"{path} has one column, {raw.columns[0]!r}; expected a time column and "
                            f"a value column.")
        hint = " (it looks separated by spaces)" if len(header.split()) > 1 else ""
        raise UserError(
            f"{path} has one column, {raw.columns[0]!r}{hint}; expected a time column and a value "
            f"column separated by commas (';', tabs and '|' are recognised too). Save it as a "
            f"comma-separated CSV.")
    return raw


PARQUET_MAGIC = b"PAR1"
_HEAD = 1 << 16  # the first bytes, read to know what the file is

# the cells pandas reads as missing (pandas.read_csv's default na_values), which Arrow reads alike
_SAMPLE = 1 << 20  # bytes whose cells set each column's type
TIME_TEXT = 50  # the first cells of a time column kept as text (see `text_time_format`)
MISSING_MARKERS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                   "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")


def release_memory() -> None:
    """Hand back to the system the memory Arrow's allocator keeps for reuse once a read's
    buffers are freed (hundreds of MB after a big file); nothing if Arrow was not used."""
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()


def _read_arrow_csv(path: Path, separator: str, head: bytes, keep=None) -> pd.DataFrame | None:
    """A CSV whose first line is its header (`_starts_plainly`) read by Arrow's multithreaded
    reader into the frame pandas would have read, indexed by line number (a blank line is a row
    of empty cells, dropped later as pandas skips it), or None where that frame could differ from
    pandas's and pandas reads the file instead (its messages name the flaws of a bad file).

    Numbers are read straight as float32 (whole numbers as int64), ISO times straight as
    timestamps (their first cells kept as text in `frame.attrs["time_text"]`, for the format to
    write them back in), text as Arrow-backed strings: nothing is held per row as a Python object.
    Each column's type is that of its cells in the file's first MiB; a later cell of another type
    (text among numbers, a decimal among whole numbers, a comment line), a ragged row, a quoted
    line break or a space after a separator hands the file to pandas. `head`: the file's first
    bytes, where the text of the first times is read. `keep`: as for `read_table`, applied to
    each block as it is read."""
    import pyarrow  # lazily, as for Parquet
    import pyarrow.compute
    import pyarrow.csv

    parse = pyarrow.csv.ParseOptions(delimiter=separator, ignore_empty_lines=False)  # lines hold
    read = pyarrow.csv.ReadOptions(block_size=1 << 24)
    convert = dict(null_values=list(MISSING_MARKERS), strings_can_be_null=True,
                   quoted_strings_can_be_null=True)
    try:
        with open(path, "rb") as file:
            sample = file.read(_SAMPLE)
        if len(sample) == _SAMPLE:
            sample = sample[:sample.rindex(b"\n") + 1]
        inferred = pyarrow.csv.read_csv(io.BytesIO(sample), parse_options=parse,
                                        convert_options=pyarrow.csv.ConvertOptions(**convert)).schema
        names = [f.name.strip() for f in inferred]
        if len(set(names)) < len(names) or not all(names) or len(set(inferred.names)) < len(names):
            return None  # empty or repeated column names: pandas names them its way
        # each column typed as its first MiB reads (Arrow is several times slower and bigger when
        # it infers times itself); floats as float32
        declared = {f.name: pyarrow.float32() if pyarrow.types.is_floating(f.type) else f.type
                    for f in inferred if not pyarrow.types.is_null(f.type)}
        options = pyarrow.csv.ConvertOptions(**convert, column_types=declared)
        lines = None
        if keep is None:
            table = pyarrow.csv.read_csv(path, read_options=read, parse_options=parse,
                                         convert_options=options)
        else:  # block by block, keeping the rows asked for and their lines
            table, lines, seen = _kept_blocks(pyarrow.csv.open_csv(
                path, read_options=read, parse_options=parse, convert_options=options), keep)
    except (pyarrow.ArrowException, OSError, ValueError):
        return None
    columns, chunked = {}, table.columns
    del table  # each column's Arrow buffers go as soon as it is converted
    for i, name in enumerate(names):
        column, chunked[i] = _arrow_column(chunked[i], csv=True, first=i == 0), None
        if column is None:
            return None
        columns[name] = column
    times = [f.name for f in inferred if pyarrow.types.is_timestamp(f.type) or
             pyarrow.types.is_date32(f.type)]
    texts = {}
    if times:  # the first times as written: the lines of `head` before its last line break
        try:
            sample = pyarrow.csv.read_csv(
                io.BytesIO(head if len(head) < _HEAD else head[:head.rindex(b"\n") + 1]),
                parse_options=parse,
                convert_options=pyarrow.csv.ConvertOptions(
                    **convert, column_types={name: pyarrow.string() for name in times}))
        except (pyarrow.ArrowException, ValueError):
            return None
        written = {name.strip(): [text for text in sample.column(name).to_pylist() if text is not None]
                   for name in times}
        texts = {name: found[:TIME_TEXT] for name, found in written.items() if found}
    release_memory()  # what Arrow's allocator kept of the read
    frame = pd.DataFrame(columns, copy=False)
    frame.index = (pd.RangeIndex(2, len(frame) + 2, name="line") if lines is None
                   else pd.Index(lines + 2, name="line"))
    frame.attrs["time_text"] = texts
    if lines is not None:
        frame.attrs["rows_read"] = seen  # before `keep` (see `_checked`)
    return frame


def _kept_blocks(batches, keep):
    """(the table of the rows of Arrow `batches` that `keep` keeps, (rows,) the place of each in
    the whole, the rows read), block by block."""
    import pyarrow

    kept, places, seen = [], [], 0
    for batch in batches:
        mask = np.asarray(keep({name.strip(): batch.column(i)
                                for i, name in enumerate(batch.schema.names)}), dtype=bool)
        kept.append(batch.filter(pyarrow.array(mask)))
        places.append(np.flatnonzero(mask) + seen)
        seen += batch.num_rows
    table = pyarrow.Table.from_batches(kept, schema=batches.schema)
    return table, np.concatenate(places) if places else np.zeros(0, dtype=np.int64), seen


def _arrow_column(chunked, csv: bool, first: bool = False):
    """A column that Arrow read, as a pandas column with nothing held per row as a Python object:
    numbers as float32 (NaN where missing; whole numbers with none missing as int64), times as
    datetime64[us] (NaT where missing), text as Arrow-backed strings.

    From a `csv`, the column as pandas would have read it, or None where pandas would read it
    otherwise or the line numbers may not hold: a time zone, missing cells among booleans, text
    starting with a space, text holding a line break (a quoted one), a `first` column's text
    starting with '#' (a comment line). From Parquet, any other column as pandas converts it."""
    import pyarrow
    import pyarrow.compute

    kind = chunked.type
    nulls = chunked.null_count
    if pyarrow.types.is_null(kind):
        return np.full(len(chunked), np.nan, dtype=np.float32)
    dtype = _direct_dtype(kind)  # floats, and times without a zone down to microseconds
    if dtype is not None or (pyarrow.types.is_integer(kind) and nulls):
        return _contiguous(chunked, dtype or np.float32)
    if pyarrow.types.is_integer(kind):
        return _contiguous(chunked, np.int64)
    if pyarrow.types.is_timestamp(kind) and kind.tz is None:  # nanoseconds
        try:  # cast by Arrow, which refuses to drop digits
            return _contiguous(chunked.cast(pyarrow.timestamp("us")), "datetime64[us]")
        except pyarrow.ArrowInvalid:  # times finer than microseconds
            if csv:
                return None
    if not csv:
        return chunked.to_pandas()
    if pyarrow.types.is_boolean(kind):
        return None if nulls else _contiguous(chunked, bool)
    if pyarrow.types.is_string(kind) or pyarrow.types.is_large_string(kind):
        compute = pyarrow.compute
        if (compute.any(compute.starts_with(chunked, " ")).as_py()  # pandas strips them
                or compute.any(compute.match_substring(chunked, "\n")).as_py()
                or (first and compute.any(compute.starts_with(chunked, "#")).as_py())):
            return None
        return chunked.to_pandas()
    return None


def _direct_dtype(kind):
    """The numpy type a Parquet column of Arrow type `kind` is read into batch by batch, or None
    for one converted once read (`_arrow_column`): floats as float32, times without a zone as
    datetime64[us] (not those finer than microseconds, which Arrow's cast checks)."""
    import pyarrow

    if pyarrow.types.is_floating(kind):
        return np.float32
    if ((pyarrow.types.is_timestamp(kind) and kind.tz is None and kind.unit != "ns")
            or pyarrow.types.is_date32(kind)):
        return "datetime64[us]"
    return None


def _contiguous(chunked, dtype) -> np.ndarray:
    """One numpy array of `dtype` from a chunked Arrow column, chunk by chunk (one copy, converted
    on the way), NaN or NaT where a cell is missing."""
    out = np.empty(len(chunked), dtype=dtype)
    at = 0
    for chunk in chunked.chunks:
        out[at:at + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
        at += len(chunk)
    return out


def _read_parquet(path: Path, keep=None) -> pd.DataFrame:
    """A Parquet file's table as pandas reads it from Arrow, indexed by row number from 1 (index
    named "row"), or a UserError saying why it cannot be read. `keep`: as for `read_table`,
    applied to each batch as it is read."""
    import pyarrow  # lazily: a CSV, the usual file, does not pay for importing Arrow
    import pyarrow.parquet

    try:
        file = pyarrow.parquet.ParquetFile(path)
        schema, rows = file.schema_arrow, file.metadata.num_rows
        # floats and times go straight into numpy, batch by batch (never the whole file as
        # float64, nor twice); other columns are gathered and converted once read
        dtypes = {i: _direct_dtype(field.type) for i, field in enumerate(schema)}
        direct = {i: np.empty(rows, dtype=dtype) for i, dtype in dtypes.items() if dtype is not None}
        pieces = {i: [] for i in range(len(schema)) if i not in direct}
        at, seen, places = 0, 0, []
        for batch in file.iter_batches(batch_size=1 << 20):
            if keep is not None:  # only the rows asked for, and their numbers
                mask = np.asarray(keep({name.strip(): batch.column(i)
                                        for i, name in enumerate(schema.names)}), dtype=bool)
                places.append(np.flatnonzero(mask) + seen)
                seen += batch.num_rows
                batch = batch.filter(pyarrow.array(mask))
            for i, column in enumerate(batch.columns):
                if i in direct:
                    direct[i][at:at + len(column)] = column.to_numpy(zero_copy_only=False)
                else:
                    pieces[i].append(column)
            at += batch.num_rows
        columns = {}
        for i, name in enumerate(schema.names):
            if i in direct:
                column = direct.pop(i)[:at]  # what was not filled was never touched
            else:
                chunked, pieces[i] = pyarrow.chunked_array(pieces[i], schema.field(i).type), None
                column = _arrow_column(chunked, csv=False)
            if not name.startswith("__index_level_"):  # pandas's unnamed index, written by to_parquet
                columns[name] = column
    except (pyarrow.ArrowException, OSError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(
            f"{path} starts like a Parquet file but cannot be read as one ({reason}); expected a "
            f"complete Parquet file. Write it again (pandas: to_parquet), or pass the data as CSV."
        ) from None
    release_memory()  # what Arrow's allocator kept of the read
    raw = pd.DataFrame(columns, copy=False)
    raw.index = (pd.RangeIndex(1, len(raw) + 1, name="row") if keep is None
                 else pd.Index(np.concatenate(places or [np.zeros(0, np.int64)]) + 1, name="row"))
    if keep is not None:
        raw.attrs["rows_read"] = rows  # before `keep` (see `_checked`)
    return raw


_SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "'|'"}


# The opening bytes of files that are often passed by mistake, and what to do instead.
_SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook?)",
     "Export it as CSV (in Excel: Save As, CSV UTF-8)"),
    (b"\xd0\xcf\x11\xe0", "an Excel .xls workbook", "Export it as CSV (in Excel: Save As, CSV UTF-8)"),
    (b"\x1f\x8b", "gzip-compressed", "Decompress it first (gunzip)"),
    (b"%PDF", "a PDF document", "Pass the CSV itself"),
    (b"\x89PNG", "a PNG image", "Pass the CSV itself"),
)


def _check_text(head: bytes, path: Path) -> None:
    """A UserError if the file's first bytes are not UTF-8 text: another encoding, or binary."""
    for bom, name in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                      (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
        if head.startswith(bom):
            raise UserError(
                f"{path} is {name} text; expected UTF-8. Save it as UTF-8 (in Excel: CSV UTF-8; "
                f"or iconv -f {name} -t UTF-8).")
    for signature, what, fix in _SIGNATURES:
        if head.startswith(signature):
            raise UserError(f"{path} is {what}, not CSV text; expected a CSV file. {fix}.")
    if b"\x00" in head:
        half = max(1, len(head) // 2)
        odd, even = head[1::2].count(0) / half, head[0::2].count(0) / half
        if max(odd, even) > 0.4 and min(odd, even) < 0.05:
            raise UserError(
                f"{path} looks like UTF-16 text (every other byte is zero); expected UTF-8. Save it "
                f"as UTF-8 (in Excel: CSV UTF-8; or iconv -f UTF-16 -t UTF-8).")
        raise UserError(
            f"{path} holds binary data (NUL bytes), not text; expected a CSV text file. Pass the CSV "
            f"itself, or export the data as CSV.")


def _decode(data: bytes, path: Path) -> str:
    """The file's text, or a UserError for bytes that are not UTF-8 text (its first 64 KiB have
    passed `_check_text`)."""
    if b"\x00" in data:
        line = data[:data.index(b"\x00")].count(b"\n") + 1
        raise UserError(
            f"{path} holds binary data (a NUL byte on line {line}), not text; expected a CSV text "
            f"file. Pass the CSV itself, or export the data as CSV.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise UserError(
            f"{path} is not UTF-8 text: line {line} holds the byte 0x{data[error.start]:02x}, which "
            f"UTF-8 cannot decode (Latin-1 or Windows-1252 text?); expected UTF-8. Save it as UTF-8 "
            f"CSV (or iconv -f latin1 -t UTF-8).") from None


def _plain(path: Path, head: bytes) -> bool:
    """True when pandas can read the file as it is and keep its line numbers: more than one line,
    no comment line and no blank line before the last row (a quick scan for a line break followed
    by '#' or by another line break). `head`, the first 64 KiB, has passed `_check_text`."""
    if not _starts_plainly(head):
        return False
    buffer = bytearray(_SCAN + 256)  # read in slices (a bool per byte is big), 256 bytes overlapping
    with open(path, "rb") as file:
        offset, found = 0, -1
        while size := file.readinto(buffer):
            data = np.frombuffer(buffer, dtype=np.uint8, count=size)
            if found < 0:
                found = _skipped_line(buffer, data, size)
                start = found
            else:
                start = 0
            # blank lines or comments at the very end are harmless: nothing follows them
            if found >= 0 and np.isin(data[start:], _WHITESPACE, invert=True).any():
                return False
            del data  # the buffer cannot be read into while numpy holds it
            if size < len(buffer):
                break
            offset += _SCAN if found < 0 else len(buffer)
            file.seek(offset)
    return True


def _starts_plainly(head: bytes) -> bool:
    """True when the file's first bytes hold a header line (not a comment or a blank line) and
    another line after it, ended by a line feed."""
    first = head.removeprefix(codecs.BOM_UTF8).lstrip(b" \t")
    return bool(head.strip()) and not first.startswith((b"#", b"\n", b"\r")) and b"\n" in head


_SKIPPED_LINE = re.compile(rb"\n[ \t]*(?:#|\r?\n)")  # a line break, then a comment or a blank line


def _skipped_line(text, data: np.ndarray, stop: int) -> int:
    """Where `text[:stop]` (`data`: its bytes as a numpy array) first has a line break followed by
    a comment or a blank line, or -1. The byte after every line break is looked at all at once;
    the regular expression runs only from the first that is '#', a space, a tab or a line ending
    (it is slow over hundreds of MB)."""
    breaks = np.flatnonzero(data[:stop - 1] == 10)
    suspects = breaks[np.isin(data[breaks + 1], _SUSPECTS)]
    if not len(suspects):
        return -1
    found = _SKIPPED_LINE.search(text, int(suspects[0]), stop)
    return found.start() if found else -1


_SCAN = 1 << 26  # bytes scanned at a time (64 MiB)
_SUSPECTS = np.frombuffer(b"#\n\r \t", dtype=np.uint8)
_WHITESPACE = np.frombuffer(b" \t\r\n\x0b\x0c", dtype=np.uint8)


def _first_line(head: bytes) -> str:
    line = head.removeprefix(codecs.BOM_UTF8).replace(b"\r", b"\n").split(b"\n", 1)[0]
    return line.decode("utf-8", errors="replace")


def _content_lines(text: str) -> tuple[list[str], list[int]]:
    """The lines that hold the header and rows, and their line numbers in the file (from 1):
    comment lines (starting with '#') and blank lines are dropped; CRLF and CR end lines too."""
    lines, numbers = [], []
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            lines.append(line)
            numbers.append(number)
    return lines, numbers


def _malformed(path, error: Exception, separator: str, line_of) -> UserError:
    """The UserError for a file pandas cannot split into rows."""
    name = _SEPARATOR_NAMES[separator]
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
    if found:
        expected, line, saw = map(int, found.groups())
        return UserError(
            f"{path} is not a well-formed CSV: line {line_of(line)} has {saw} fields but the header "
            f"has {expected}; expected the same number of {name}-separated fields on every row. "
            f"Fix that row (put quotes around a value that contains a {name}).")
    if isinstance(error, pd.errors.ParserWarning):  # the first row is longer than the header
        return UserError(
            f"{path} is not a well-formed CSV: line {line_of(2)} has more fields than the header; "
            f"expected the same number of {name}-separated fields on every row. Fix that row, or "
            f"name every column in the header.")
    reason = " ".join(str(error).split())
    return UserError(
        f"{path} is not a well-formed CSV ({reason}); expected {name}-separated fields, with quotes "
        f"around values that contain a {name}. Fix the file.")


def _refuse_short_rows(raw: pd.DataFrame, path, header: str, separator: str, lines, numbers) -> None:
    """A UserError for a row with fewer fields than the header (pandas would fill them with NaN).

    Only rows whose last column is empty can be short; their lines are split again to count."""
    names = next(csv.reader([header], delimiter=separator, skipinitialspace=True), [])
    width = len(names) - (len(names) > 1 and not names[-1].strip())  # a trailing separator aside
    if not 0 < width <= len(raw.columns):
        return
    suspects = set(raw.index[raw[raw.columns[width - 1]].isna()])
    if not suspects:
        return
    if lines is None:
        with open(path, encoding="utf-8-sig", newline="") as file:
            found = _short(enumerate(file, 1), suspects, width, separator)
    else:
        found = _short(zip(numbers, lines, strict=True), suspects, width, separator)
    if found:
        (line, fields), more = found[0], len(found) - 1
        name = _SEPARATOR_NAMES[separator]
        others = f" ({count(more, 'more row')} too)" if more else ""
        raise UserError(
            f"{path} is not a well-formed CSV: line {line} has {count(fields, 'field')} "
            f"but the header has {width}{others}; expected the same number of {name}-separated "
            f"fields on every row. Fix that row (an empty value still needs its {name}).")


def _short(numbered_lines, wanted: set, width: int, separator: str) -> list[tuple[int, int]]:
    """(line, fields) of each wanted line that has fewer than `width` fields."""
    found, last = [], max(wanted)
    for number, line in numbered_lines:
        if number in wanted:
            fields = len(next(csv.reader([line.rstrip("\r\n")], delimiter=separator), [""]))
            if fields < width and line.strip():
                found.append((number, fields))
        if number >= last:
            break
    return found


def _separator(header: str) -> str:
    """The comma, unless the header line has none and is split by ';', a tab or '|' instead."""
    if "," in header:
        return ","
    counts = {sep: header.count(sep) for sep in (";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","
