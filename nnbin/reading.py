"""Reading a table file as it arrives: CSV/TSV (any delimiter, decimal comma, encodings,
comments, no header row), Parquet and Excel, with pandas' options. Every problem is one
line naming the option that fixes it."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from nnbin.errors import DataError

FORMATS = {".csv": "csv", ".txt": "csv", ".data": "csv", ".tsv": "tsv", ".tab": "tsv",
           ".parquet": "parquet", ".pq": "parquet", ".xlsx": "excel", ".xls": "excel"}


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file, as in `pandas.read_csv` (recorded in run.json and model.json)."""

    format: str | None = None          # csv | tsv | parquet | excel (default: by extension)
    header: bool = True                # False: the first row is data; name columns with `columns`
    columns: tuple = ()                # column names (without a header), or new names (with one)
    na_values: tuple = ()              # extra markers of a missing value, besides pandas' defaults
    sep: str | None = None             # delimiter: ',' for csv, tab for tsv; any, e.g. ';' or '\\s+'
    decimal: str = "."                 # ',' for European files
    encoding: str = "utf-8"            # a byte-order mark is handled with utf-8
    comment: str | None = None         # lines starting with it are skipped
    sheet: str | int = 0               # Excel: sheet name or index
    text_columns: tuple = field(default=(), compare=False)  # read as written ('07' stays '07')

    def recorded(self) -> dict:
        """The options to record (what reads the next file of the same kind the same way)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()
                if k != "text_columns"}

    def kind(self, path: Path) -> str:
        kind = self.format or FORMATS.get(path.suffix.lower())
        if kind not in ("csv", "tsv", "parquet", "excel"):
            raise DataError(f"cannot tell the format of {path.name}: name it .csv, .tsv, .parquet or "
                            ".xlsx, or set format: csv | tsv | parquet | excel")
        return kind


def read_table(path, options: ReadOptions = ReadOptions()) -> pd.DataFrame:
    """Read a table file with the given options; errors are one line (DataError)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file not found: {path} (check the path; relative paths start "
                        f"from {Path.cwd()})")
    if path.is_dir():
        raise DataError(f"data file {path} is a directory; give the path of a CSV, TSV, Parquet or Excel file")
    kind = options.kind(path)
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
        elif kind == "excel":
            frame = _read_excel(path, options)
        else:
            frame = _read_text(path, options)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"data file {path} is empty; it needs a header row and data rows") from None
    except PermissionError:
        raise DataError(f"cannot read {path}: permission denied") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not {options.encoding} text ({exc.reason} at byte {exc.start}); "
                        "set encoding: (e.g. latin-1 or cp1252) or save it as UTF-8") from None
    except LookupError:
        raise DataError(f"unknown encoding {options.encoding!r}; use a Python codec name such as "
                        "utf-8, latin-1 or cp1252") from None
    except ImportError as exc:
        raise DataError(f"reading {path.name} needs {exc.name}: pip install {exc.name}") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read {path} as {kind}: {first}") from None
    return frame


def _text_options(path: Path, options: ReadOptions) -> dict:
    sep = options.sep or ("\t" if options.kind(path) == "tsv" else ",")
    encoding = "utf-8-sig" if options.encoding.lower().replace("-", "").replace("_", "") == "utf8" \
        else options.encoding
    return dict(sep=sep, encoding=encoding, comment=options.comment, skipinitialspace=True,
                engine="python" if len(sep) > 1 else "c")


def first_row(path, options: ReadOptions = ReadOptions()) -> list[str]:
    """The fields of a CSV/TSV file's first row, as text."""
    row = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False,
                      **_text_options(Path(path), options))
    return [str(c).strip() for c in row.iloc[0]] if len(row) else []


def _read_text(path: Path, options: ReadOptions) -> pd.DataFrame:
    names = _column_names(path, first_row(path, options), options)
    text = {i: str for i, name in enumerate(names) if name in options.text_columns}
    return pd.read_csv(path, header=0 if options.header else None, names=names,
                       na_values=list(options.na_values) or None, decimal=options.decimal,
                       dtype=text or None, **_text_options(path, options))


def data_lines(path, options: ReadOptions, n_rows: int) -> list[int] | None:
    """The 1-based line of the file on which each of the table's n_rows data rows starts
    (blank and comment lines and the header skipped, as pandas skips them; quoted fields may
    span lines); None where that cannot be told (another format, a separator of several
    characters, a count that disagrees with pandas')."""
    import csv

    path = Path(path)
    options_text = _text_options(path, options)
    if options.kind(path) not in ("csv", "tsv") or len(options_text["sep"]) != 1:
        return None
    lines, start, header = [], 1, options.header
    with open(path, encoding=options_text["encoding"], newline="") as handle:
        reader = csv.reader(handle, delimiter=options_text["sep"], skipinitialspace=True)
        for record in reader:
            first, start = start, reader.line_num + 1
            if not record or all(not field.strip() for field in record):
                continue
            if options.comment and record[0].lstrip().startswith(options.comment):
                continue
            if header:
                header = False
                continue
            lines.append(first)
    return lines if len(lines) == n_rows else None


def _read_excel(path: Path, options: ReadOptions) -> pd.DataFrame:
    """An Excel sheet (cells keep their types: a code typed as text stays text)."""
    frame = pd.read_excel(path, sheet_name=options.sheet, header=0 if options.header else None,
                          na_values=list(options.na_values) or None)
    frame.columns = _column_names(path, [str(c).strip() for c in frame.columns], options)
    return frame


def _column_names(path: Path, raw_names: list[str], options: ReadOptions) -> list[str]:
    """The names the table's columns get: the header's, or `columns`; duplicates refused."""
    if options.columns and len(options.columns) != len(raw_names):
        raise DataError(f"columns lists {len(options.columns)} names but {path.name} has "
                        f"{len(raw_names)} columns; give one name per column")
    if options.header and not options.columns:
        _check_header_looks_like_names(path, raw_names)
    names = list(options.columns) if options.columns else raw_names
    if not options.header and not options.columns:
        raise DataError(f"header: false needs the column names: add columns: [...] with "
                        f"{len(raw_names)} names for {path.name}")
    seen, duplicated = set(), []
    for name in names:
        if name in seen and name not in duplicated:
            duplicated.append(name)
        seen.add(name)
    if duplicated:
        where = "columns:" if options.columns else f"the header of {path.name}"
        raise DataError(f"{where} names column(s) {', '.join(repr(d) for d in duplicated)} more than "
                        "once; rename them so that every column has its own name (with a header, "
                        "columns: [...] renames them)")
    return names


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_MISSING_MARKERS = {"", "?", ".", "-", "na", "nan", "n/a", "null", "none"}


def _check_header_looks_like_names(path: Path, names: list[str]) -> None:
    """A file without a header row: its first row of data became the column names (every
    name a number or a missing-value marker such as '?')."""
    numbers = [n for n in names if _NUMBER.fullmatch(n.strip())]
    if numbers and all(n in numbers or n.strip().lower() in _MISSING_MARKERS for n in names):
        shown = ", ".join(repr(n) for n in names[:5]) + (" ..." if len(names) > 5 else "")
        raise DataError(f"the first row of {path.name} looks like data, not column names ({shown}); "
                        f"if the file has no header row, set header: false and name its "
                        f"{len(names)} columns with columns: [...]")
