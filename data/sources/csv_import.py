"""Import (replay) a historical series from a CSV file into the history, with progress.

Rows become readings through the same pipeline as every other source: validated, refused rows
kept as dead letters with their reason, accepted rows written to SQL in chunks. Old readings
never overwrite a newer live value.
"""

from __future__ import annotations

import csv
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from data.pipeline import IngestPipeline

CHUNK_ROWS = 5000


@dataclass(frozen=True)
class CsvMapping:
    sensor_column: str
    time_column: str
    value_column: str
    quantity: str = ""
    sensor_map: dict[str, str] | None = None  # source id -> city sensor id
    fixed_sensor: str | None = None  # every row belongs to this sensor
    only_mapped: bool = False  # skip (count, not dead-letter) rows whose id is not in the map


@dataclass
class ImportReport:
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    seconds: float = 0.0
    first_reasons: list[str] | None = None

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _records(reader: csv.DictReader, mapping: CsvMapping, report: ImportReport) -> Iterator[dict]:
    for row in reader:
        source_id = mapping.fixed_sensor or row.get(mapping.sensor_column, "")
        if mapping.only_mapped and source_id not in (mapping.sensor_map or {}):
            report.skipped += 1
            continue
        sensor_id = (mapping.sensor_map or {}).get(source_id, source_id)
        raw_value = row.get(mapping.value_column, "")
        try:
            value: object = float(raw_value)
        except (TypeError, ValueError):
            value = raw_value  # the pipeline refuses it with a reason, and keeps it
        record = {"sensor_id": sensor_id, "ts": row.get(mapping.time_column), "value": value}
        if mapping.quantity:
            record["quantity"] = mapping.quantity
        yield record


class _CountingLines:
    """Text lines of a binary file, counting bytes read (a text file cannot `tell()` while it
    is being iterated, and the progress bar needs to know how far we are)."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(self.handle):
            self.bytes_read += len(raw)
            line = raw.decode("utf-8", errors="replace")
            yield line.removeprefix("\ufeff") if number == 0 else line


def import_csv(
    path: Path,
    mapping: CsvMapping,
    pipeline: IngestPipeline,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import `path`; `progress(bytes_read_so_far)` is called after each chunk."""
    report = ImportReport(first_reasons=[])
    started = time.monotonic()
    with path.open("rb") as handle:
        lines = _CountingLines(handle)
        reader = csv.DictReader(lines)
        missing = {mapping.time_column, mapping.value_column} - set(reader.fieldnames or [])
        if not mapping.fixed_sensor:
            missing |= {mapping.sensor_column} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"{path}: column(s) not found: {', '.join(sorted(missing))}; "
                f"the file has: {', '.join(reader.fieldnames or [])}"
            )
        records = _records(reader, mapping, report)
        while chunk := list(itertools.islice(records, CHUNK_ROWS)):
            result = pipeline.submit("csv", chunk, durable=True)
            report.rows += len(chunk)
            report.accepted += result.accepted
            report.rejected += result.rejected
            for item in result.rejections.values():
                if len(report.first_reasons) < 5:
                    report.first_reasons.append(
                        f"row {report.rows - len(chunk) + item.index + 2}"
                        f": {item.field}: {item.reason}"
                    )
            if progress is not None:
                progress(lines.bytes_read)
    report.seconds = time.monotonic() - started
    return report
