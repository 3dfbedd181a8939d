"""One way to cut a list into pages, for every paged list, public and panel."""
from dataclasses import dataclass

from sqlalchemy import func, select

from .extensions import db


def page_number(raw, pages=None):
    """The page asked for in `?strona=`: 1 unless plain ASCII digits ("²" is a digit to
    isdigit() but not to int()), and at most `pages` when given."""
    number = int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 7 else 1
    return max(1, min(number, pages) if pages else number)


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self):
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self):
        """The number of the first item shown (0 on an empty list)."""
        return (self.page - 1) * self.per_page + 1 if self.total else 0


def paginate(statement, raw_page, per_page):
    """The page of `statement` that `?strona=` asks for; past the end, the last page (an old
    link after entries went away still shows something). Always two statements, the count
    and the page, however long the list and whatever page is asked for."""
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    page = page_number(raw_page, max(1, -(-total // per_page)))
    items = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page)).unique().scalars().all()
    return Page(items=items, total=total, page=page, per_page=per_page)
