"""Statistics export: Stats → plain StatsReport, written as PDF and .xlsx atomically, audited."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING

from app.domain.errors import KnownError, PermissionDenied, ValidationError
from app.domain.roles import Actor, Role
from app.domain.states import CaseState, IssueMethod
from app.services import audit, org, stats
from app.store import db as dbmod
from app.store.models import TownshipRecord
from forms.schema import KIND_LABELS, STATIONS
from reports.statistics import Row, StatsReport, write_pdf
from reports.xlsx import write_xlsx

if TYPE_CHECKING:
    from app.services.runtime import Runtime

RATING_ORDER = (5, 4, 3, 2, 1)


def _rows(counts: Mapping[str, int], label: Callable[[str], str]) -> list[Row]:
    return [(label(key), n) for key, n in counts.items()]


def _state_label(value: str) -> str:
    try:
        return CaseState(value).label
    except ValueError:
        return value or "（未记录）"


def _desk_labels(township: str | None) -> dict[str, str]:
    if not township:
        return {}
    # A desk left with its default name ("A1号窗口") already says its code.
    return {
        code: name if code in name else f"{code}（{name}）" for code, name in org.desks(township)
    }


def _station_rows(counts: Mapping[str, int]) -> list[Row]:
    """Every station of the township, idle ones included, busiest first."""
    merged = {code: counts.get(code, 0) for code in STATIONS} | dict(counts)
    order = list(STATIONS)
    ranked = sorted(
        merged.items(),
        key=lambda kv: (-kv[1], order.index(kv[0]) if kv[0] in order else len(order), kv[0]),
    )
    return [(org.station_name(code) or code, n) for code, n in ranked]


def _fixed_rows(counts: Mapping[str, int], labels: Mapping[str, str]) -> list[Row]:
    """Each known value in a fixed order (zeros shown), then any unknown value as it is."""
    rows = [(label, counts.get(key, 0)) for key, label in labels.items()]
    return rows + [(key, n) for key, n in counts.items() if key not in labels]


def build_report(
    rt: Runtime, stats_: stats.Stats, township_name: str, *, township: str | None = None
) -> StatsReport:
    """The plain report data: Chinese labels applied, breakdowns as (label, count) rows.
    `township` (its code) only names the desks; the counts are those of `stats_`."""
    desk_labels = _desk_labels(township)
    issue_labels = {m.value: m.label for m in IssueMethod}
    return StatsReport(
        township_name=township_name,
        start=stats_.start,
        end=stats_.end,
        generated_at=rt.now(),
        total=stats_.total,
        overdue_open=stats_.overdue_open,
        near_due_open=stats_.near_due_open,
        finished_late=stats_.finished_late,
        complaints=stats_.complaints,
        by_desk=_rows(stats_.by_desk, lambda k: desk_labels.get(k, k or "（未记录）")),
        by_item=_rows(stats_.by_item, lambda k: k or "（未记录）"),
        by_station=_station_rows(stats_.by_station),
        by_state=_rows(stats_.by_state, _state_label),
        by_kind=_fixed_rows(stats_.by_kind, KIND_LABELS),
        by_issue_method=_fixed_rows(stats_.by_issue_method, issue_labels),
        ratings=[
            (stats.RATING_LABELS[level], stats_.ratings.get(level, 0)) for level in RATING_ORDER
        ],
    )


Writer = Callable[[IO[bytes]], None]


def _reason(exc: OSError) -> str:
    """Why a file could not be written, in words the user can act on."""
    if isinstance(exc, FileNotFoundError):
        return "所在文件夹不存在"
    if isinstance(exc, PermissionError):
        return "没有写入权限，或文件正被其他程序（如 WPS、Excel）打开"
    if isinstance(exc, IsADirectoryError):
        return "该路径是一个文件夹"
    return f"磁盘已满或存储设备不可用（{exc.strerror or exc}）"


def _stage(path: Path, writer: Writer) -> str:
    """Write a temporary file next to `path` (same file system, so the rename is atomic)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def write_atomically(jobs: Sequence[tuple[Path, Writer]]) -> None:
    """Stage every file first and rename only when all are complete: a failure leaves the
    targets as they were and no temporary file behind; a reader never sees half a file."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, writer in jobs:
            try:
                staged.append((_stage(path, writer), path))
            except OSError as exc:
                raise KnownError(f"无法写入文件 {path}：{_reason(exc)}") from exc
        for tmp, path in staged:
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise KnownError(f"无法保存文件 {path}：{_reason(exc)}") from exc
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def _scope_name(township: str | None) -> str:
    if township:
        return org.township_name(township)
    # County accounts have no township: their statistics cover every township of the county.
    first = TownshipRecord.select(TownshipRecord.county_name).first()
    return str(first.county_name) if first is not None else "全县"


def export(
    rt: Runtime,
    actor: Actor,
    start: date,
    end: date,
    *,
    pdf: Path | None,
    xlsx: Path | None,
) -> StatsReport:
    """Statistics for cases received in [start, end) of the actor's township (every township
    for a county account), written to the requested files and recorded in the audit trail."""
    if actor.role is Role.SYNC:
        raise PermissionDenied("同步账号不能导出统计")
    if pdf is None and xlsx is None:
        raise ValidationError("请至少选择一种导出格式（PDF 或 Excel）", field="format")
    if end <= start:
        raise ValidationError("统计截止日期应晚于起始日期", field="end")
    township = actor.township or None
    with dbmod.read_snapshot():
        counted = stats.compute(
            start, end, today=rt.today(), township=township, calendar=rt.calendar
        )
        report = build_report(rt, counted, _scope_name(township), township=township)
    jobs: list[tuple[Path, Writer]] = []
    if pdf is not None:
        jobs.append((Path(pdf), lambda fh: write_pdf(report, fh)))
    if xlsx is not None:
        jobs.append((Path(xlsx), lambda fh: write_xlsx(report, fh)))
    write_atomically(jobs)
    with dbmod.write_transaction():
        audit.record(
            rt,
            actor,
            "stats.export",
            object_type="stats",
            object_id=f"{start}/{end}",
            details={
                "township": township or "",
                "period": report.period_label,
                "total": report.total,
                "files": [path.name for path, _ in jobs],
            },
        )
    return report
