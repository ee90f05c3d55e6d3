"""The bounced-users list: each filter narrows correctly, pages add up, detail and export."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from core.clock import utcnow
from core.errors import InvalidInput
from core.recipients.bounced import (
    BouncedFilter,
    address_detail,
    export_bounced_csv,
    list_bounced,
    subtypes_seen,
)
from core.recipients.confirmations import confirm_valid
from core.recipients.directory import import_users_csv
from core.store.models import AuditEntry, SuppressedDestination, SuppressionSync
from tests.factories import OPS, ingest, make_bounce, make_complaint, make_delivery, person

ALL = {
    "hard@example.com",
    "soft@docomo.ne.jp",
    "undetermined@docomo.ne.jp",
    "complainer@gmail.com",
    "mixed@gmail.com",
    "listed@example.com",
}
DIRECTORY_CSV = (
    "email,user_id,name,company\r\n"
    "hard@example.com,U-001,山田 太郎,株式会社キューブ\r\n"
    'soft@docomo.ne.jp,U-002,"=HYPERLINK(""http://evil.example"")",Acme 100%\r\n'
    "mixed@gmail.com,U_3,Mixed Person,Other Co\r\n"
).encode()


def day(n: int, hour: int = 12) -> datetime:
    return datetime(2026, 10, n, hour)


def mirror(engine: Engine, address: str, *, suppressed: bool = True) -> None:
    row = {
        "address": address,
        "email_address": address,
        "reason": "BOUNCE",
        "last_update_time": day(6),
        "first_seen_at": day(6),
        "last_seen_at": day(7),
        "suppressed": suppressed,
        "removed_by_us": False,
        "sync_generation": 1,
    }
    with engine.begin() as connection:
        connection.execute(insert(SuppressedDestination.__table__), [row])


def completed_sync(engine: Engine) -> None:
    row = {"started_at": day(7), "finished_at": day(7), "status": "completed", "incremental": False}
    with engine.begin() as connection:
        connection.execute(insert(SuppressionSync.__table__), [row])


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    ingest(
        engine,
        make_bounce(["hard@example.com"], at=day(1, 10)),
        make_bounce(
            ["soft@docomo.ne.jp"], bounce_type="Transient", subtype="MailboxFull", at=day(2)
        ),
        make_bounce(
            ["undetermined@docomo.ne.jp"],
            bounce_type="Undetermined",
            subtype="Undetermined",
            at=day(3),
        ),
        make_complaint(["complainer@gmail.com"], at=day(4)),
        make_bounce(["mixed@gmail.com"], at=day(1)),
        make_bounce(["mixed@gmail.com"], bounce_type="Transient", subtype="General", at=day(5)),
        make_delivery(["mixed@gmail.com", "delivered@example.com"], at=day(5, 13)),
        make_bounce(["listed@example.com"], subtype="OnAccountSuppressionList", at=day(6)),
    )
    import_users_csv(engine, OPS, DIRECTORY_CSV)
    mirror(engine, "listed@example.com")
    return engine


def addresses(engine: Engine, **criteria: object) -> set[str]:
    page = list_bounced(engine, BouncedFilter(**criteria), page_size=100)  # type: ignore[arg-type]
    assert page.total == len(page.rows)
    return {row.address for row in page.rows}


def test_only_addresses_with_a_bounce_or_complaint_are_listed_newest_first(seeded: Engine) -> None:
    page = list_bounced(seeded, BouncedFilter())
    assert page.total == 6
    assert [row.address for row in page.rows][:3] == [
        "listed@example.com",
        "mixed@gmail.com",
        "complainer@gmail.com",
    ]
    mixed = page.rows[1]
    assert (mixed.hard_count, mixed.soft_count, mixed.last_classification) == (1, 1, "soft")
    assert (mixed.user_id, mixed.name, mixed.last_subtype) == ("U_3", "Mixed Person", "General")


def test_a_filter_is_an_immutable_value_equal_whatever_order_its_choices_came_in() -> None:
    picked = BouncedFilter(kinds=frozenset(["hard", "soft"]), subtypes=frozenset(["General"]))
    again = BouncedFilter(kinds=frozenset(["soft", "hard"]), subtypes=frozenset(["General"]))
    assert picked == again and hash(picked) == hash(again)
    assert {picked: "cached"}[again] == "cached"
    field = "kinds"
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(picked, field, frozenset())
    # A caller without type checks may still hand over a set: it becomes a frozenset.
    criteria: dict[str, Any] = {"kinds": {"hard", "soft"}, "subtypes": ["General"]}
    loose = BouncedFilter(**criteria)
    assert loose == picked and hash(loose) == hash(picked)


def test_the_kind_filter_keeps_addresses_with_any_event_of_a_chosen_kind(seeded: Engine) -> None:
    assert addresses(seeded, kinds={"hard"}) == {
        "hard@example.com",
        "mixed@gmail.com",
        "listed@example.com",
    }
    assert addresses(seeded, kinds={"complaint"}) == {"complainer@gmail.com"}
    assert addresses(seeded, kinds={"soft", "undetermined"}) == {
        "soft@docomo.ne.jp",
        "undetermined@docomo.ne.jp",
        "mixed@gmail.com",
    }


def test_the_subtype_filter_matches_the_latest_bounce(seeded: Engine) -> None:
    assert addresses(seeded, subtypes={"MailboxFull"}) == {"soft@docomo.ne.jp"}
    assert addresses(seeded, subtypes={"OnAccountSuppressionList", "Undetermined"}) == {
        "listed@example.com",
        "undetermined@docomo.ne.jp",
    }


def test_the_date_filter_is_on_the_last_event_with_both_days_included(seeded: Engine) -> None:
    assert addresses(seeded, start=date(2026, 10, 2), end=date(2026, 10, 4)) == {
        "soft@docomo.ne.jp",
        "undetermined@docomo.ne.jp",
        "complainer@gmail.com",
    }
    assert addresses(seeded, end=date(2026, 10, 1)) == {"hard@example.com"}


def test_the_domain_filter_ignores_case_and_a_leading_at_sign(seeded: Engine) -> None:
    assert addresses(seeded, domain="DOCOMO.ne.jp") == {
        "soft@docomo.ne.jp",
        "undetermined@docomo.ne.jp",
    }
    assert addresses(seeded, domain="@gmail.com") == {"complainer@gmail.com", "mixed@gmail.com"}


def test_text_search_covers_address_name_company_and_user_id(seeded: Engine) -> None:
    assert addresses(seeded, text="EXAMPLE.com") == {"hard@example.com", "listed@example.com"}
    assert addresses(seeded, text="山田") == {"hard@example.com"}
    assert addresses(seeded, text="キューブ") == {"hard@example.com"}
    assert addresses(seeded, text="u-001") == {"hard@example.com"}
    assert addresses(seeded, text="mixed person") == {"mixed@gmail.com"}


def test_text_search_treats_percent_and_underscore_literally(seeded: Engine) -> None:
    assert addresses(seeded, text="100%") == {"soft@docomo.ne.jp"}
    assert addresses(seeded, text="u_") == {"mixed@gmail.com"}
    assert addresses(seeded, text="%") == {"soft@docomo.ne.jp"}


def test_the_suppression_filter_follows_the_mirror(seeded: Engine) -> None:
    mirror(seeded, "hard@example.com", suppressed=False)  # was listed, since removed
    assert addresses(seeded, suppression="suppressed") == {"listed@example.com"}
    assert addresses(seeded, suppression="not_suppressed") == ALL - {"listed@example.com"}


def test_suppressed_is_unknown_until_the_mirror_has_been_synced(seeded: Engine) -> None:
    by_address = {r.address: r for r in list_bounced(seeded, BouncedFilter()).rows}
    assert by_address["hard@example.com"].suppressed is None
    assert by_address["listed@example.com"].suppressed is True
    assert by_address["listed@example.com"].suppression_reason == "BOUNCE"
    completed_sync(seeded)
    by_address = {r.address: r for r in list_bounced(seeded, BouncedFilter()).rows}
    assert by_address["hard@example.com"].suppressed is False


def test_the_confirmed_filter_needs_a_confirmation_newer_than_the_last_bounce(
    seeded: Engine,
) -> None:
    confirm_valid(seeded, ["listed@example.com", "hard@example.com"], actor=OPS, note="called")
    ingest(seeded, make_bounce(["hard@example.com"], at=utcnow() + timedelta(hours=12)))
    assert addresses(seeded, confirmed="yes") == {"listed@example.com"}
    assert addresses(seeded, confirmed="no") == ALL - {"listed@example.com"}
    assert addresses(seeded, confirmed="yes", suppression="suppressed") == {"listed@example.com"}
    stale = list_bounced(seeded, BouncedFilter(text="hard@")).rows[0]
    assert stale.confirmed_valid is False and stale.confirmed_at is not None


def test_pages_split_the_filtered_list_without_overlap_and_keep_the_total(seeded: Engine) -> None:
    pages = [list_bounced(seeded, BouncedFilter(), page=n, page_size=4) for n in (1, 2, 3)]
    assert [p.total for p in pages] == [6, 6, 6]
    assert [len(p.rows) for p in pages] == [4, 2, 0]
    listed = [row.address for p in pages for row in p.rows]
    assert len(listed) == len(set(listed)) and set(listed) == ALL
    by_address = list_bounced(seeded, BouncedFilter(), sort="address", page_size=3)
    assert [r.address for r in by_address.rows] == sorted(ALL)[:3]


def test_nonsense_filters_are_refused_with_a_reason(seeded: Engine) -> None:
    for bad in (
        BouncedFilter(kinds=frozenset({"bounced"})),
        BouncedFilter(suppression="maybe"),  # type: ignore[arg-type]
        BouncedFilter(confirmed="perhaps"),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidInput):
            list_bounced(seeded, bad)
    with pytest.raises(InvalidInput):
        list_bounced(seeded, BouncedFilter(), sort="random")
    with pytest.raises(InvalidInput):
        list_bounced(seeded, BouncedFilter(), page=0)


def test_subtypes_seen_lists_each_bounce_subtype_once(seeded: Engine) -> None:
    assert subtypes_seen(seeded) == [
        "General",
        "MailboxFull",
        "OnAccountSuppressionList",
        "Undetermined",
    ]


def test_address_detail_tells_the_whole_story_newest_first(seeded: Engine) -> None:
    detail = address_detail(seeded, "mixed@GMAIL.com")
    assert detail is not None and detail.summary is not None
    assert [(f.kind, f.classification) for f in detail.facts] == [
        ("delivery", None),
        ("bounce", "soft"),
        ("bounce", "hard"),
    ]
    assert detail.facts_total == 3
    assert detail.facts[2].diagnostic_code == "smtp; 550 5.1.1 user unknown"
    assert detail.user is not None and detail.user.company == "Other Co"
    assert detail.suppression is None and detail.confirmations == []
    listed = address_detail(seeded, "listed@example.com")
    assert listed is not None and listed.suppression is not None
    assert listed.suppression.suppressed is True


def test_address_detail_is_none_for_an_address_never_seen(seeded: Engine) -> None:
    assert address_detail(seeded, "stranger@example.com") is None


def test_the_export_streams_every_filtered_row_with_formulas_neutralised(seeded: Engine) -> None:
    out = io.BytesIO()
    written = export_bounced_csv(seeded, person("ops@qube"), BouncedFilter(), out, bom=True)
    data = out.getvalue()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert written == len(rows) == 6
    assert {row["address"] for row in rows} == ALL
    by_address = {row["address"]: row for row in rows}
    assert by_address["soft@docomo.ne.jp"]["name"] == '\'=HYPERLINK("http://evil.example")'
    assert by_address["hard@example.com"]["company"] == "株式会社キューブ"
    with seeded.connect() as connection:
        audit = connection.execute(
            select(AuditEntry.actor, AuditEntry.outcome).where(
                AuditEntry.action == "export.bounced"
            )
        ).all()
    assert [tuple(a) for a in audit] == [("ops@qube", "6 rows")]


def test_the_export_applies_the_filter(seeded: Engine) -> None:
    out = io.BytesIO()
    assert export_bounced_csv(seeded, OPS, BouncedFilter(domain="gmail.com"), out) == 2
    assert not out.getvalue().startswith(b"\xef\xbb\xbf")


def test_text_search_pages_report_the_same_total_on_every_page(seeded: Engine) -> None:
    pages = [
        list_bounced(seeded, BouncedFilter(text="docomo"), page=n, page_size=1) for n in (1, 2, 3)
    ]
    assert [p.total for p in pages] == [2, 2, 2]
    assert [len(p.rows) for p in pages] == [1, 1, 0]
    assert list_bounced(seeded, BouncedFilter(text="nobody-matches")).total == 0


def test_keyset_pages_return_every_row_exactly_once_while_new_bounces_arrive(
    engine: Engine,
) -> None:
    """New addresses arrive between pages (they sort first, before the cursor): offset
    paging would show earlier rows again; cursors never do, and miss none that stayed."""
    base = datetime(2026, 10, 1)
    ingest(
        engine,
        *(
            make_bounce([f"old{i:03d}@example.com"], at=base + timedelta(minutes=i % 40))
            for i in range(120)
        ),
    )
    before = {r.address for r in list_bounced(engine, BouncedFilter(), page_size=1000).rows}
    for sort in ("last_event_desc", "address", "hard_desc"):
        seen: list[str] = []
        page = list_bounced(engine, BouncedFilter(), page_size=7, sort=sort)
        arrived = 0
        while True:
            seen += [row.address for row in page.rows]
            # Another ingester stores new addresses while someone reads the list.
            ingest(engine, make_bounce([f"new-{sort}-{arrived}@example.com"], at=utcnow()))
            arrived += 1
            if page.next_cursor is None:
                break
            page = list_bounced(
                engine, BouncedFilter(), page_size=7, sort=sort, cursor=page.next_cursor
            )
        assert len(seen) == len(set(seen)), f"{sort}: a row came twice"
        assert before <= set(seen), f"{sort}: rows that stayed put were missed"
        assert arrived >= 120 // 7


def test_keyset_pages_walk_back_to_the_same_rows_and_a_foreign_cursor_is_refused(
    seeded: Engine,
) -> None:
    first = list_bounced(seeded, BouncedFilter(), page_size=2)
    second = list_bounced(seeded, BouncedFilter(), page_size=2, cursor=first.next_cursor)
    assert second.total == first.total == 6
    assert [r.address for r in second.rows] == [
        r.address for r in list_bounced(seeded, BouncedFilter(), page=2, page_size=2).rows
    ]
    back = list_bounced(seeded, BouncedFilter(), page_size=2, cursor=second.previous_cursor)
    assert [r.address for r in back.rows] == [r.address for r in first.rows]
    with pytest.raises(InvalidInput):
        list_bounced(seeded, BouncedFilter(), sort="address", cursor=first.next_cursor)
    with pytest.raises(InvalidInput):
        list_bounced(seeded, BouncedFilter(), cursor="not a cursor")


def test_a_date_filter_in_a_named_zone_reads_that_zones_days(engine: Engine) -> None:
    """A Tokyo day starts at 15:00 UTC the day before: 16:00 UTC on 1 December is 2 December
    in Tokyo, and 14:00 UTC on 2 December is still 2 December there."""
    ingest(engine, make_bounce(["early@example.com"], at=datetime(2026, 12, 1, 16, 0)))
    ingest(engine, make_bounce(["noon@example.com"], at=datetime(2026, 12, 2, 14, 0)))
    ingest(engine, make_bounce(["late@example.com"], at=datetime(2026, 12, 2, 16, 0)))
    second = date(2026, 12, 2)
    tokyo = addresses(engine, start=second, end=second, zone="Asia/Tokyo")
    assert tokyo == {"early@example.com", "noon@example.com"}
    assert addresses(engine, start=second, end=second) == {"noon@example.com", "late@example.com"}


def test_an_unknown_zone_is_bad_input_not_a_crash(engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        addresses(engine, start=date(2026, 12, 2), zone="Mars/Olympus")
