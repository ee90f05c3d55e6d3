"""The bounced-users list, one address's full story, and the list as CSV.

Everything is filtered, counted and paged in the database: the list reads the per-address
summaries kept at ingest (never the facts), pages with LIMIT/OFFSET on an indexed sort, and
the export streams rows from a server-side cursor straight into the CSV writer.

Filter semantics, chosen so each filter matches a column the page shows:
- ``kinds``: the address has at least one event of any chosen kind (its counts column > 0);
- ``subtypes``: the subtype of its most recent bounce;
- ``start``/``end``: days, inclusive, on its last event (bounce or complaint), in ``zone``
  (an IANA name, UTC by default: the dashboard reads dates in its display zone);
- ``text``: case-insensitive substring of the address or the directory's name, company or
  user id;
- ``confirmed``: see `core.recipients.confirmations` (unrevoked, and no attempted bounce since).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, BinaryIO, Literal

from sqlalchemy import Connection, Engine, Select, and_, func, literal, or_, select, union
from sqlalchemy.sql.elements import ColumnElement

from core.access import Action, Actor, require
from core.addresses import normalise_address
from core.audit import AuditRecord, audit_for_address, record_audit
from core.chunks import EXPORT_BATCH
from core.clock import day_start
from core.csv_safety import write_csv
from core.errors import InvalidInput
from core.recipients.confirmations import (
    ConfirmationEntry,
    confirmation_history,
    confirmation_lookups,
    confirmation_state,
    confirmed_addresses,
)
from core.store import search
from core.store.db import translated_errors
from core.store.tables import DAILY, FACTS, MIRROR, SUMMARIES, SYNCS
from core.store.tables import USERS as DIRECTORY

KIND_COUNTS = {
    "hard": SUMMARIES.c.hard_count,
    "soft": SUMMARIES.c.soft_count,
    "undetermined": SUMMARIES.c.undetermined_count,
    "complaint": SUMMARIES.c.complaint_count,
}
# Sort name -> (column, descending); the address breaks ties so pages never overlap.
SORTS: dict[str, tuple[str, bool]] = {
    "last_event_desc": ("last_event_at", True),
    "last_event_asc": ("last_event_at", False),
    "address": ("address", False),
    "hard_desc": ("hard_count", True),
    "soft_desc": ("soft_count", True),
    "complaint_desc": ("complaint_count", True),
}
MAX_PAGE_SIZE = 1000


Suppression = Literal["any", "suppressed", "not_suppressed"]
Confirmed = Literal["any", "yes", "no"]


@dataclass(frozen=True, slots=True)
class BouncedFilter:
    """What the bounced list shows; the defaults show every bounced address.

    Immutable and hashable, so the dashboard can cache a page by its filter; equal filters
    are equal whatever order the kinds and subtypes were chosen in."""

    kinds: frozenset[str] = frozenset()
    subtypes: frozenset[str] = frozenset()
    start: date | None = None
    end: date | None = None
    domain: str | None = None
    text: str | None = None
    suppression: Suppression = "any"
    confirmed: Confirmed = "any"
    zone: str = "UTC"

    def __post_init__(self) -> None:
        # Callers without type checking (scripts, **kwargs) may still pass a set or a list.
        object.__setattr__(self, "kinds", frozenset(self.kinds))
        object.__setattr__(self, "subtypes", frozenset(self.subtypes))


@dataclass(frozen=True, slots=True)
class BouncedRow:
    """One address in the list. `suppressed` is None until the suppression mirror has been
    synced once. `confirmed_at` is the latest unrevoked confirmation, shown even when a
    later bounce means it no longer makes the address `confirmed_valid`."""

    address: str
    recipient: str
    domain: str
    user_id: str | None
    name: str | None
    company: str | None
    hard_count: int
    soft_count: int
    undetermined_count: int
    complaint_count: int
    last_classification: str | None
    last_subtype: str | None
    last_bounce_at: datetime | None
    last_complaint_at: datetime | None
    last_diagnostic_code: str | None
    suppressed: bool | None
    suppression_reason: str | None
    confirmed_valid: bool
    confirmed_at: datetime | None


BOUNCED_HEADER = [f.name for f in fields(BouncedRow)]  # also the export's columns
ROW_WIDTH = len(BOUNCED_HEADER)


@dataclass(frozen=True, slots=True)
class BouncedPage:
    """One page and the total matching. `next_cursor` / `previous_cursor` ask for the
    pages after and before this one (None when there is none that way)."""

    rows: list[BouncedRow]
    total: int
    next_cursor: str | None = None
    previous_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class FactView:
    """One stored recipient fact, as the address page lists it."""

    occurred_at: datetime
    kind: str
    classification: str | None
    bounce_type: str | None
    bounce_subtype: str | None
    counts_toward_bounce_rate: bool
    diagnostic_code: str | None
    status: str | None
    action: str | None
    complaint_subtype: str | None
    complaint_feedback_type: str | None
    reporting_mta: str | None
    remote_mta_ip: str | None
    recipient: str
    sender: str | None
    subject: str | None
    ses_message_id: str | None
    feedback_id: str | None
    configuration_set: str | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class SuppressionEntry:
    email_address: str
    reason: str
    suppressed: bool
    last_update_time: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime
    unsuppressed_at: datetime | None
    removed_by_us: bool


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    email: str
    user_id: str | None
    name: str | None
    company: str | None
    imported_at: datetime


@dataclass(frozen=True, slots=True)
class AddressDetail:
    """Everything known about one address. `facts` is newest first and capped at the
    `fact_limit` asked for; `facts_total` says how many there are. `audit` is what Bounce
    Desk did to it (confirmations, removals), newest first."""

    address: str
    summary: BouncedRow | None
    facts: list[FactView]
    facts_total: int
    suppression: SuppressionEntry | None
    confirmations: list[ConfirmationEntry]
    user: DirectoryEntry | None
    audit: list[AuditRecord] = field(default_factory=list)


# --- Filters -------------------------------------------------------------------------------


def filter_conditions(flt: BouncedFilter, dialect: str = "sqlite") -> list[ColumnElement[bool]]:
    """WHERE clauses on address_summaries for a filter; raises InvalidInput on nonsense.
    `dialect` picks the cheapest case-insensitive match the database has."""
    conditions: list[ColumnElement[bool]] = [SUMMARIES.c.last_event_at.is_not(None)]
    unknown = set(flt.kinds) - set(KIND_COUNTS)
    if unknown:
        raise InvalidInput(f"unknown kinds {sorted(unknown)}; use {sorted(KIND_COUNTS)}")
    if flt.kinds:
        conditions.append(or_(*(KIND_COUNTS[kind] > 0 for kind in sorted(flt.kinds))))
    if flt.subtypes:
        conditions.append(SUMMARIES.c.last_bounce_subtype.in_(sorted(flt.subtypes)))
    if flt.start is not None:
        conditions.append(SUMMARIES.c.last_event_at >= day_start(flt.start, flt.zone))
    if flt.end is not None:
        conditions.append(
            SUMMARIES.c.last_event_at < day_start(flt.end + timedelta(days=1), flt.zone)
        )
    if flt.domain and flt.domain.strip().lstrip("@"):
        conditions.append(SUMMARIES.c.domain == flt.domain.strip().lstrip("@").lower())
    if flt.text and flt.text.strip():
        conditions.append(_text_matches(flt.text.strip(), dialect))
    conditions.extend(_confirmed_condition(flt.confirmed))
    conditions.extend(_suppression_condition(flt.suppression))
    return conditions


def _contains(column: Any, term: str, dialect: str) -> ColumnElement[bool]:
    """Case-insensitive substring match; % and _ in `term` are literal."""
    pattern = "%" + term.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
    if dialect == "sqlite":
        # SQLite's LIKE already ignores case (ASCII; its lower() does no more), and
        # skipping lower() on every row makes the scan twice as fast.
        return column.like(pattern, escape="/")
    # lower() + LIKE rather than PostgreSQL's ILIKE, which measured twice as slow.
    return func.lower(column).like(func.lower(pattern), escape="/")


def _text_matches(term: str, dialect: str) -> ColumnElement[bool]:
    # Matching addresses and matching directory entries are each found in their own table;
    # the list then looks up only those addresses. The trigram indexes (core.store.search)
    # narrow the rows; the same LIKE as ever decides, so the index never changes the answer.
    named = SUMMARIES.alias("named")
    people = or_(
        *(_contains(DIRECTORY.c[name], term, dialect) for name in ("name", "company", "user_id"))
    )
    by_address = select(named.c.address).where(_contains(named.c.address, term, dialect))
    by_person = select(DIRECTORY.c.address).where(people)
    if dialect == "sqlite" and search.indexed(term):
        phrase = search.fts_phrase(term)
        addresses, persons = search.address_search(), search.people_search()
        found = select(addresses.c.address).where(search.matches(addresses, phrase))
        by_address = by_address.where(named.c.address.in_(found))
        people_phrase = "{name company user_id} : " + phrase
        known = select(persons.c.address).where(search.matches(persons, people_phrase))
        by_person = by_person.where(DIRECTORY.c.address.in_(known))
    matches = union(by_address, by_person)
    return SUMMARIES.c.address.in_(select(matches.subquery().c.address))


def _suppression_condition(value: str) -> list[ColumnElement[bool]]:
    # EXISTS rather than IN: half the addresses may be listed, and an IN list that big
    # would become the planner's starting point instead of a cheap per-row check.
    # An alias of the mirror, correlated to the summaries only: the export's row query joins
    # the mirror too, and an unaliased reference would correlate away the subquery's FROM.
    mirror = MIRROR.alias("listed")
    listed = (
        select(literal(1))
        .where(mirror.c.address == SUMMARIES.c.address, mirror.c.suppressed.is_(True))
        .correlate(SUMMARIES)
        .exists()
    )
    if value == "suppressed":
        return [listed]
    if value == "not_suppressed":
        return [~listed]
    if value != "any":
        raise InvalidInput(f"suppression must be any, suppressed or not_suppressed: {value!r}")
    return []


def _confirmed_condition(value: str) -> list[ColumnElement[bool]]:
    # Confirmed addresses are few: as an IN list they are where the search starts.
    if value == "yes":
        return [SUMMARIES.c.address.in_(confirmed_addresses())]
    if value == "no":
        return [SUMMARIES.c.address.not_in(confirmed_addresses())]
    if value != "any":
        raise InvalidInput(f"confirmed must be any, yes or no: {value!r}")
    return []


# --- Rows ----------------------------------------------------------------------------------


def _rows_query(keys: Any = None) -> Select[Any]:
    """Every BouncedRow column, with directory, mirror and confirmation state joined.

    With `keys` (a subquery of addresses: one page, one address) only those rows are built
    and their confirmations are looked up row by row; without, for an export of any size,
    the confirmations are grouped once and joined."""
    s = SUMMARIES.c
    base = SUMMARIES if keys is None else keys.join(SUMMARIES, s.address == keys.c.address)
    joined = base.outerjoin(DIRECTORY, DIRECTORY.c.address == s.address).outerjoin(
        MIRROR, MIRROR.c.address == s.address
    )
    if keys is None:
        state = confirmation_state()
        joined = joined.outerjoin(state, state.c.address == s.address)
        valid, latest = state.c.valid, state.c.latest
    else:
        latest, valid = confirmation_lookups(s.address)
    return select(
        s.address,
        s.recipient,
        s.domain,
        DIRECTORY.c.user_id,
        DIRECTORY.c.name,
        DIRECTORY.c.company,
        s.hard_count,
        s.soft_count,
        s.undetermined_count,
        s.complaint_count,
        s.last_classification,
        s.last_bounce_subtype,
        s.last_bounce_at,
        s.last_complaint_at,
        s.last_diagnostic_code,
        MIRROR.c.suppressed,
        MIRROR.c.reason,
        valid,
        latest,
    ).select_from(joined)


def _row_values(values: Any, mirror_synced: bool) -> tuple[Any, ...]:
    """A result row as BouncedRow's values: suppressed is unknown (None) for an address
    missing from a mirror that was never synced, and not suppressed once it was."""
    row = list(values)
    row[15] = (False if mirror_synced else None) if row[15] is None else bool(row[15])
    row[17] = bool(row[17])
    return tuple(row)


def _to_row(values: Any, mirror_synced: bool) -> BouncedRow:
    return BouncedRow(*_row_values(values, mirror_synced))


def _mirror_synced(connection: Connection) -> bool:
    query = select(SYNCS.c.id).where(SYNCS.c.status == "completed").limit(1)
    return connection.scalar(query) is not None


def _order(sort: str, columns: Any, *, reverse: bool = False) -> list[Any]:
    """ORDER BY for a sort name, on `columns` (the summaries' or a page subquery's);
    `reverse` walks the same order backwards (a keyset page before a cursor)."""
    if sort not in SORTS:
        raise InvalidInput(f"unknown sort {sort!r}; use one of {sorted(SORTS)}")
    name, descending = SORTS[sort]
    first = columns[name].desc() if descending != reverse else columns[name].asc()
    tie = columns["address"].desc() if reverse else columns["address"].asc()
    return [first] if name == "address" else [first, tie]


def _page_keys(
    conditions: list[ColumnElement[bool]],
    sort: str,
    size: int,
    with_total: bool,
    *,
    page: int = 1,
    cursor: Cursor | None = None,
) -> Any:
    """The addresses of one page (and their sort key), paged on the indexed sort key alone;
    the joined rows are built for these only. The outer query sorts by this subquery's
    columns so the database starts from the page, not from the whole table.

    With a cursor the page starts just after (or ends just before) the cursor's row: a
    range on the index, so page 200 costs what page 1 costs. Without one, OFFSET."""
    backwards = cursor is not None and cursor.before
    order = _order(sort, SUMMARIES.c, reverse=backwards)
    sort_column = SORTS[sort][0]
    columns: list[Any] = [SUMMARIES.c.address]
    if sort_column != "address":
        columns.append(SUMMARIES.c[sort_column])
    if with_total:
        # The total is of the whole filter, not of the rows past a cursor.
        columns.append(_total_of(conditions) if cursor else func.count().over().label("total"))
    query = select(*columns).where(*conditions).order_by(*order).limit(size)
    if cursor is not None:
        return query.where(_beyond(sort, cursor)).subquery("page")
    return query.offset((page - 1) * size).subquery("page")


def _total_of(conditions: list[ColumnElement[bool]]) -> Any:
    counted = select(func.count()).select_from(SUMMARIES).where(*conditions)
    return counted.scalar_subquery().label("total")


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a keyset page starts: just after (or, `before`, just before) the row whose
    sort key is `value` and whose address is `address`. Sent as an opaque string."""

    sort: str
    value: Any
    address: str
    before: bool = False

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        payload = [self.sort, value, self.address, self.before]
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str, sort: str) -> Cursor:
        try:
            name, value, address, before = json.loads(text)
            if name != sort or not isinstance(address, str):
                raise ValueError("a cursor of another sort")
            if SORTS[name][0] == "last_event_at":
                value = datetime.fromisoformat(value)
            elif SORTS[name][0] != "address":
                value = int(value)
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidInput(f"not a page cursor of this list: {text[:80]!r}") from exc
        return cls(name, value, address, bool(before))


def _beyond(sort: str, cursor: Cursor) -> ColumnElement[bool]:
    """The rows after the cursor in the list's order (before it when `cursor.before`),
    written as an index range plus a tie-break so the database seeks instead of scanning."""
    name, descending = SORTS[sort]
    address = SUMMARIES.c.address
    later_address = address < cursor.address if cursor.before else address > cursor.address
    if name == "address":
        return later_address
    column = SUMMARIES.c[name]
    forward = descending != cursor.before  # the sort key falls as the rows go on
    past = column < cursor.value if forward else column > cursor.value
    within = column <= cursor.value if forward else column >= cursor.value
    return and_(within, or_(past, and_(column == cursor.value, later_address)))


def _cursor_of(row: BouncedRow, sort_value: Any, sort: str, *, before: bool) -> str:
    return Cursor(sort, sort_value, row.address, before).encode()


def list_bounced(
    engine: Engine,
    flt: BouncedFilter,
    *,
    page: int = 1,
    page_size: int = 50,
    sort: str = "last_event_desc",
    cursor: str | None = None,
) -> BouncedPage:
    """One page of bounced addresses (at least one bounce or complaint) and the total.

    `page` pages by OFFSET; `cursor` (a `next_cursor` or `previous_cursor` of a page)
    pages by keyset instead, at the same cost wherever it is. Keyset pages never repeat a
    row or skip one that stays put while others are ingested: new addresses land before
    the cursor. An address that gets a new event moves to where its new sort key puts it."""
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page must be >= 1 and page_size 1..{MAX_PAGE_SIZE}")
    conditions = filter_conditions(flt, engine.dialect.name)
    place = Cursor.decode(cursor, sort) if cursor else None
    # A text term can only be matched by scanning: count in the same statement rather
    # than scanning a second time. Other filters count cheaply through indexes.
    inline_count = bool(flt.text and flt.text.strip())
    keys = _page_keys(conditions, sort, page_size, inline_count, page=page, cursor=place)
    backwards = place is not None and place.before
    query = _rows_query(keys).order_by(*_order(sort, keys.c, reverse=backwards))
    sort_column = SORTS[sort][0]
    query = query.add_columns(keys.c[sort_column] if sort_column != "address" else keys.c.address)
    if inline_count:
        query = query.add_columns(keys.c.total)
    with translated_errors(), engine.connect() as connection:
        synced = _mirror_synced(connection)
        result = list(connection.execute(query).all())
        if backwards:
            result.reverse()
        rows = [_to_row(values[:ROW_WIDTH], synced) for values in result]
        if inline_count and result:
            total = int(result[0][ROW_WIDTH + 1])
        elif inline_count and page == 1 and place is None:
            total = 0
        else:
            count = select(func.count()).select_from(SUMMARIES).where(*conditions)
            total = int(connection.scalar(count) or 0)
    return BouncedPage(rows, total, *_neighbours(rows, result, sort, page, page_size, place, total))


def _neighbours(
    rows: list[BouncedRow],
    result: Any,
    sort: str,
    page: int,
    size: int,
    place: Cursor | None,
    total: int,
) -> tuple[str | None, str | None]:
    """The cursors of the next and the previous page, when there may be one."""
    if not rows:
        return None, None
    first, last = result[0][ROW_WIDTH], result[-1][ROW_WIDTH]
    full = len(rows) == size
    if place is None:
        more_after = page * size < total
        more_before = page > 1
    else:
        more_after = full or place.before
        more_before = full or not place.before
    following = _cursor_of(rows[-1], last, sort, before=False) if more_after else None
    preceding = _cursor_of(rows[0], first, sort, before=True) if more_before else None
    return following, preceding


def iter_bounced(
    engine: Engine, flt: BouncedFilter, *, sort: str = "last_event_desc"
) -> Iterator[BouncedRow]:
    """Every row of a filter, streamed from a server-side cursor in chunks."""
    for values in _stream(engine, flt, sort):
        yield BouncedRow(*values)


def _stream(engine: Engine, flt: BouncedFilter, sort: str) -> Iterator[tuple[Any, ...]]:
    query = _rows_query().where(*filter_conditions(flt, engine.dialect.name))
    query = query.order_by(*_order(sort, SUMMARIES.c))
    with translated_errors(), engine.connect() as connection:
        synced = _mirror_synced(connection)
        result = connection.execution_options(yield_per=EXPORT_BATCH).execute(query)
        for values in result:
            yield _row_values(values, synced)


def export_bounced_csv(
    engine: Engine,
    actor: Actor,
    flt: BouncedFilter,
    out: BinaryIO,
    *,
    bom: bool = False,
    sort: str = "last_event_desc",
    zone: tzinfo | None = None,
) -> int:
    """Write the whole filtered list to `out` as formula-safe CSV (columns = BouncedRow
    fields), one chunk at a time; return the rows written. Times are naive UTC, or carry
    `zone`'s offset when given. The export of personal data is recorded in the audit log."""
    require(actor, Action.EXPORT)
    written = write_csv(_stream(engine, flt, sort), BOUNCED_HEADER, out, bom, zone=zone)
    with translated_errors(), engine.begin() as connection:
        parameters = {"filter": _describe(flt), "sort": sort}
        record_audit(connection, actor, "export.bounced", None, f"{written} rows", parameters)
    return written


def _describe(flt: BouncedFilter) -> dict[str, Any]:
    return {
        f.name: sorted(v) if isinstance(v := getattr(flt, f.name), frozenset) else v
        for f in fields(flt)
    }


def subtypes_seen(engine: Engine) -> list[str]:
    """Every bounce subtype ever stored, for the subtype filter's choices."""
    query = (
        select(DAILY.c.subtype)
        .where(DAILY.c.kind == "bounce", DAILY.c.subtype != "")
        .group_by(DAILY.c.subtype)
        .order_by(DAILY.c.subtype)
    )
    with translated_errors(), engine.connect() as connection:
        return list(connection.scalars(query))


# --- One address ---------------------------------------------------------------------------


def address_detail(engine: Engine, address: str, *, fact_limit: int = 200) -> AddressDetail | None:
    """Summary, facts (newest first), suppression mirror entry, confirmations and directory
    entry of one address; None when Bounce Desk has never heard of it."""
    address = normalise_address(address)
    with translated_errors(), engine.connect() as connection:
        synced = _mirror_synced(connection)
        one = select(SUMMARIES.c.address).where(SUMMARIES.c.address == address).subquery()
        summary_row = connection.execute(_rows_query(one)).first()
        facts = _facts(connection, address, fact_limit)
        count = select(func.count()).select_from(FACTS).where(FACTS.c.address == address)
        facts_total = int(connection.scalar(count) or 0)
        mirror = connection.execute(
            _columns(MIRROR, SuppressionEntry).where(MIRROR.c.address == address)
        ).first()
        user = connection.execute(
            _columns(DIRECTORY, DirectoryEntry).where(DIRECTORY.c.address == address)
        ).first()
    confirmations = confirmation_history(engine, address)
    audit = audit_for_address(engine, address)
    if not (summary_row or facts or mirror or user or confirmations or audit):
        return None
    return AddressDetail(
        address=address,
        summary=_to_row(summary_row, synced) if summary_row else None,
        facts=facts,
        facts_total=facts_total,
        suppression=SuppressionEntry(*mirror) if mirror else None,
        confirmations=confirmations,
        user=DirectoryEntry(*user) if user else None,
        audit=audit,
    )


def _columns(table: Any, view: type) -> Select[Any]:
    return select(*(table.c[f.name] for f in fields(view)))


def _facts(connection: Connection, address: str, limit: int) -> list[FactView]:
    query = (
        _columns(FACTS, FactView)
        .where(FACTS.c.address == address)
        .order_by(FACTS.c.occurred_at.desc(), FACTS.c.id.desc())
        .limit(limit)
    )
    return [FactView(*row) for row in connection.execute(query)]
