"""Open exports: every record once, cursors re-readable, pages that vary, cursors that expire."""

from __future__ import annotations

from typing import Any

from sandbox.clevertap.exports import ExportStore

RECORDS: list[dict[str, Any]] = [{"n": n} for n in range(100)]


def _all_pages(store: ExportStore, cursor: str | None) -> list[list[dict[str, Any]]]:
    pages = []
    while cursor is not None:
        page = store.page(cursor)
        assert page is not None
        pages.append(page.records)
        cursor = page.next_cursor
    return pages


def test_pages_cover_every_record_once_and_sizes_vary_below_the_batch_size() -> None:
    store = ExportStore()
    pages = _all_pages(store, store.open(RECORDS, batch_size=12))
    assert [record for page in pages for record in page] == RECORDS
    sizes = [len(page) for page in pages]
    assert max(sizes) == 12
    assert 8 in sizes[:-1]  # a short page that is not the last one


def test_fixed_page_sizes_when_asked() -> None:
    store = ExportStore(vary_page_size=False)
    pages = _all_pages(store, store.open(RECORDS, batch_size=30))
    assert [len(page) for page in pages] == [30, 30, 30, 10]


def test_a_cursor_read_twice_returns_the_same_page_and_next_cursor() -> None:
    store = ExportStore()
    cursor = store.open(RECORDS, batch_size=10)
    first, again = store.page(cursor), store.page(cursor)
    assert first is not None
    assert again is not None
    assert first == again
    assert first.next_cursor is not None
    assert first.next_cursor != cursor


def test_the_export_is_a_snapshot() -> None:
    store = ExportStore()
    records = list(RECORDS)
    cursor = store.open(records, batch_size=500)
    records.append({"n": "late"})
    page = store.page(cursor)
    assert page is not None
    assert page.records == RECORDS
    assert page.next_cursor is None


def test_cursors_expire_after_their_ttl_and_on_demand() -> None:
    now = [0.0]
    store = ExportStore(ttl_s=60, clock=lambda: now[0])
    cursor = store.open(RECORDS, batch_size=10)
    now[0] = 59.0
    assert store.page(cursor) is not None
    now[0] = 60.0
    assert store.page(cursor) is None
    fresh = store.open(RECORDS, batch_size=10)
    assert store.open_cursors == 1  # the expired export was swept
    assert store.expire_all() == 1
    assert store.page(fresh) is None


def test_an_empty_export_has_one_empty_page() -> None:
    store = ExportStore()
    assert _all_pages(store, store.open([], batch_size=10)) == [[]]
