"""Lists under flask-smorest's pagination (`@blp.paginate(ListingPage)`, total in the
X-Pagination header): a handler returns a Listing and the pager reads the requested page."""
from __future__ import annotations

from typing import Callable

from flask_smorest import Blueprint, Page, abort
from marshmallow import Schema
from sqlalchemy import func, select

from .auth import allow
from .ext import services
from engine.i18n import _

Fetch = Callable[[int, int], "tuple[int, list]"]


class Listing:
    """`fetch(offset, limit) -> (total, rows)`, and `shape(row)` for each row of the page."""

    def __init__(self, fetch: Fetch, shape: Callable = lambda row: dict(row._mapping)):
        self.fetch, self.shape = fetch, shape


def query(stmt, shape: Callable = lambda row: dict(row._mapping)) -> Listing:
    """An ordered SELECT, counted and paged in one read transaction."""
    def fetch(offset: int, limit: int) -> tuple[int, list]:
        with services().db.read() as conn:
            total = conn.execute(select(func.count()).select_from(
                stmt.order_by(None).subquery())).scalar_one()
            return total, conn.execute(stmt.offset(offset).limit(limit)).all()
    return Listing(fetch, shape)


MAX_PAGE = 1_000_000          # beyond any list here; a larger offset overflows the database


class ListingPage(Page):
    def __init__(self, collection: Listing, page_params):
        if page_params.page > MAX_PAGE:
            abort(422, message=_("页码过大"),
                  errors={"page": [_("不能大于 {MAX_PAGE}").format(MAX_PAGE=MAX_PAGE)]})
        self._total, self._rows = collection.fetch(page_params.first_item, page_params.page_size)
        super().__init__(collection, page_params)

    @property
    def items(self) -> list:
        return [self.collection.shape(row) for row in self._rows]

    @property
    def item_count(self) -> int:
        return self._total


def paged(blp: Blueprint, items: type[Schema], action: str,
          arguments: type[Schema] | None = None) -> Callable:
    """The decorators of a paged list endpoint, in the one order they work in: the query
    arguments, the page's items, the pager, then the declared action next to the handler."""
    def decorate(handler: Callable) -> Callable:
        view = blp.paginate(ListingPage)(allow(action)(handler))
        view = blp.response(200, items(many=True))(view)
        return blp.arguments(arguments, location="query")(view) if arguments else view
    return decorate
