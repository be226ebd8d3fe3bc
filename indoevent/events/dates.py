"""DATE spans to ISO dates or ranges, against the article's publication date.

``dateparser`` reads most Indonesian dates ("Rabu (3/9/2025)", "3 September 2025", "Juni 2024",
"kemarin"); a small rewrite layer in front of it handles what it misses or reads wrongly in news
prose (PITFALLS.md): "pekan lalu", "minggu lalu", "Selasa lalu", "dua hari lalu", "lusa",
"tadi malam", a bare weekday (the latest one on or before the article's day, not the week
before), and a day and month without a year ("Kamis (4 September)": the year in which that
day is a Thursday). A relative date without an article date is None: never a guess.

>>> from datetime import date
>>> terbit = date(2025, 9, 3)  # a Wednesday
>>> normalise_date("Rabu (3/9/2025)", terbit).iso
'2025-09-03'
>>> normalise_date("pekan lalu", terbit).iso
'2025-08-25/2025-08-31'
>>> normalise_date("dua hari lalu", terbit).iso
'2025-09-01'
>>> normalise_date("Kamis (4 September)").iso
'2025-09-04'
>>> normalise_date("kemarin") is None   # relative, and no article date to count from
True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

WEEKDAYS = {"senin": 0, "selasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "jum'at": 4, "sabtu": 5,
            "minggu": 6, "ahad": 6}
MONTHS = {"januari": 1, "jan": 1, "februari": 2, "pebruari": 2, "feb": 2, "maret": 3, "mar": 3, "april": 4,
          "apr": 4, "mei": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "agustus": 8, "agu": 8, "agt": 8,
          "ags": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "oct": 10,
          "november": 11, "nov": 11, "desember": 12, "des": 12, "dec": 12}
NUMBERS = {"se": 1, "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7,
           "delapan": 8, "sembilan": 9, "sepuluh": 10, "sebelas": 11, "dua belas": 12}
# Said of a time of day, not a date: dropped before parsing ("Minggu (26/10) pagi").
TIME_OF_DAY = re.compile(r"\s*(\b(pagi|siang|sore|malam|dini hari)\b|\b(pukul|jam)\s*\d{1,2}([.:]\d{2})?\b|"
                         r"\b\d{1,2}[.:]\d{2}\b|\b(wib|wita|wit)\b)", re.I)
_WD = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_MON = "|".join(sorted(MONTHS, key=len, reverse=True))
_NUM = "|".join(sorted(NUMBERS, key=len, reverse=True))


@dataclass(frozen=True)
class DateRange:
    """A day or a stretch of days (inclusive), the text it came from and how it was read."""

    start: date
    end: date
    text: str = ""
    how: str = ""  # "dateparser", or the rewrite rule that read it

    @property
    def iso(self) -> str:
        """``2025-09-03`` for a day, ``2025-08-25/2025-08-31`` (ISO 8601 interval) for a range."""
        return self.start.isoformat() if self.start == self.end else f"{self.start}/{self.end}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def overlaps(self, other: DateRange, window: int = 0) -> bool:
        """Whether the two share a day, or lie at most ``window`` days apart."""
        return self.start - timedelta(days=window) <= other.end and other.start <= self.end + timedelta(days=window)

    def to_dict(self) -> dict:
        return {"iso": self.iso, "start": self.start.isoformat(), "end": self.end.isoformat(), "text": self.text,
                "how": self.how}


def _day(d: date, text: str, how: str) -> DateRange:
    return DateRange(d, d, text, how)


def _month(y: int, m: int, text: str, how: str) -> DateRange:
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return DateRange(date(y, m, 1), nxt - timedelta(days=1), text, how)


def last_weekday(ref: date, weekday: int, strictly_before: bool = False) -> date:
    """The latest ``weekday`` (Monday 0) on or before ``ref`` (strictly before with ``strictly_before``).

    >>> last_weekday(date(2025, 9, 4), WEEKDAYS["rabu"]), last_weekday(date(2025, 9, 3), WEEKDAYS["rabu"], True)
    (datetime.date(2025, 9, 3), datetime.date(2025, 8, 27))
    """
    back = (ref.weekday() - weekday) % 7
    if back == 0 and strictly_before:
        back = 7
    return ref - timedelta(days=back)


def year_of(day: int, month: int, weekday: int | None, ref: date | None) -> int | None:
    """The year of a date printed without one: with a weekday ("Kamis (4 September)"), the year
    nearest the reference (today without one) in which that day falls on that weekday; without a
    weekday, the reference's year (the year before if the day would lie after the reference).
    None if nothing decides it.

    >>> year_of(4, 9, WEEKDAYS["kamis"], date(2026, 12, 1)), year_of(26, 10, None, date(2025, 9, 3))
    (2025, 2024)
    """
    if weekday is not None:
        around = ref or date.today()
        years = []
        for y in range(around.year - 12, around.year + 13):
            try:
                if date(y, month, day).weekday() == weekday:
                    years.append(y)
            except ValueError:
                return None
        return min(years, key=lambda y: (abs((date(y, month, day) - around).days), -y), default=None)
    if ref is None:
        return None
    try:
        return ref.year if date(ref.year, month, day) <= ref else ref.year - 1
    except ValueError:
        return None


# --- the rewrite layer: a table of patterns and what each means ----------------------------------
def _day_month(m: re.Match, text: str, ref: date | None) -> DateRange | None:
    """A day and month without a year: "Kamis (4 September)", "Minggu (26/10)"."""
    wd, d, mm, name = m.groups()
    month = int(mm) if mm else MONTHS[name]
    y = year_of(int(d), month, WEEKDAYS.get(wd) if wd else None, ref)
    if y is None or not 1 <= month <= 12:
        return None
    try:
        return _day(date(y, month, int(d)), text, "day-month, year inferred")
    except ValueError:
        return None


def _year(m: re.Match, text: str, ref: date | None) -> DateRange:
    y = int(m.group(1))
    return DateRange(date(y, 1, 1), date(y, 12, 31), text, "year")


# Fixed phrases: days from the article's date, and the rule's name.
_PHRASES = {**dict.fromkeys(("tadi malam", "semalam", "kemarin malam", "malam tadi"), (-1, "last night")),
            **dict.fromkeys(("hari ini", "malam ini", "pagi ini", "siang ini", "sore ini", "tadi pagi", "tadi siang",
                             "tadi sore"), (0, "today")),
            "lusa": (2, "lusa"), "kemarin lusa": (-2, "kemarin lusa")}


def _phrase(m: re.Match, text: str, ref: date) -> DateRange:
    days, how = _PHRASES[m.group(0)]
    return _day(ref + timedelta(days=days), text, how)


def _calendar_unit(m: re.Match, text: str, ref: date) -> DateRange:
    """Calendar units: "pekan lalu" and "minggu lalu" are last Monday-to-Sunday week."""
    edge, unit, which = m.groups()
    back = 0 if which == "ini" else 1
    if unit in ("pekan", "minggu"):
        monday = ref - timedelta(days=ref.weekday() + 7 * back)
        r = DateRange(monday, monday + timedelta(days=6), text, f"{unit} {which}")
        if edge == "akhir":
            r = DateRange(monday + timedelta(days=5), r.end, text, f"akhir {unit} {which}")
        return r
    if unit == "bulan":
        y, mo = divmod(ref.year * 12 + ref.month - 1 - back, 12)
        return _month(y, mo + 1, text, f"bulan {which}")
    y = ref.year - back
    lo, hi = {"awal": (1, 3), "akhir": (10, 12), None: (1, 12)}[edge]
    return DateRange(date(y, lo, 1), _month(y, hi, "", "").end, text, f"{edge + ' ' if edge else ''}tahun {which}")


def _weekday(m: re.Match, text: str, ref: date) -> DateRange:
    """"Rabu", "Selasa lalu": dateparser skips a week back on the article's own weekday."""
    return _day(last_weekday(ref, WEEKDAYS[m.group(1)], strictly_before=bool(m.group(2))), text, "weekday")


def _ago(m: re.Match, text: str, ref: date) -> DateRange:
    """"dua hari lalu", "3 bulan silam"."""
    n = int(m.group(1)) if m.group(1).isdigit() else NUMBERS[m.group(1)]
    unit = m.group(2)
    if unit == "hari":
        return _day(ref - timedelta(days=n), text, "n days ago")
    if unit in ("minggu", "pekan"):
        return _day(ref - timedelta(weeks=n), text, "n weeks ago")
    if unit == "bulan":
        y, mo = divmod(ref.year * 12 + ref.month - 1 - n, 12)
        return _month(y, mo + 1, text, "n months ago")
    return DateRange(date(ref.year - n, 1, 1), date(ref.year - n, 12, 31), text, "n years ago")


_Handler = Callable[[re.Match, str, date | None], DateRange | None]


def _relative(handler: Callable[[re.Match, str, date], DateRange]) -> _Handler:
    """A handler that counts from the article's date: without one it gives None."""
    return lambda m, text, ref: None if ref is None else handler(m, text, ref)


# (pattern of the whole lower-cased text, handler), tried in order: the first pattern that
# matches decides, and a relative one without an article date gives None.
_RULES: list[tuple[re.Pattern, _Handler]] = [
    (re.compile(rf"(?:({_WD}),?\s*)?\(?(\d{{1,2}})(?:\s*/\s*(\d{{1,2}})|\s+({_MON})\.?)\)?"), _day_month),
    (re.compile(r"(?:tahun )?(\d{4})"), _year),
    (re.compile("|".join(map(re.escape, sorted(_PHRASES, key=len, reverse=True)))), _relative(_phrase)),
    (re.compile(r"(?:(awal|akhir) )?(pekan|minggu|bulan|tahun) (lalu|ini|kemarin)"), _relative(_calendar_unit)),
    (re.compile(rf"({_WD})(?: (lalu|kemarin))?"), _relative(_weekday)),
    (re.compile(rf"(\d+|{_NUM})\s*(hari|minggu|pekan|bulan|tahun) (?:yang )?(?:lalu|silam)"), _relative(_ago)),
]


def _rewrite(text: str, ref: date | None) -> DateRange | None:
    """The Indonesian expressions dateparser misses (or reads as the week before), or None."""
    t = text.lower().strip()
    for pattern, handler in _RULES:
        m = pattern.fullmatch(t)
        if m:
            return handler(m, text, ref)
    return None


@lru_cache(maxsize=8)
def _parser(ref: date | None):
    from dateparser.date import DateDataParser  # heavy-ish; only when dates are read

    settings = {"PREFER_DATES_FROM": "past", "DATE_ORDER": "DMY", "RETURN_AS_TIMEZONE_AWARE": False}
    if ref is not None:
        settings["RELATIVE_BASE"] = datetime(ref.year, ref.month, ref.day)
    return DateDataParser(languages=["id", "en"], settings=settings)


@lru_cache(maxsize=65536)  # news repeats its dates: "Rabu (3/9/2025)" in every report
def normalise_date(text: str, ref: date | None = None) -> DateRange | None:
    """The day or range a DATE span means, counted from ``ref`` (the article's date) for relative
    expressions; None when it cannot be read (or is relative and there is no ``ref``).

    >>> from datetime import date
    >>> terbit = date(2025, 9, 3)
    >>> [normalise_date(t, terbit).iso for t in ("Juni 2024", "tahun lalu", "Selasa lalu", "lusa", "tadi malam")]
    ['2024-06-01/2024-06-30', '2024-01-01/2024-12-31', '2025-09-02', '2025-09-05', '2025-09-02']
    >>> normalise_date("Rabu", date(2025, 9, 4)).iso   # the Wednesday just before, not a week earlier
    '2025-09-03'
    >>> normalise_date("Minggu (26/10) pagi", terbit).iso   # 26 October 2025 is a Sunday
    '2025-10-26'
    """
    clean = re.sub(r"\s+", " ", text).strip(" ,.")
    clean = re.sub(r"^(hari|pada|tanggal|tgl\.?|sejak|diterbitkan pada)\s+", "", clean, flags=re.I)
    r = _rewrite(clean, ref)  # before dropping the time of day: "tadi malam"
    clean = TIME_OF_DAY.sub("", clean).strip(" ,.") or clean
    r = r or _rewrite(clean, ref)
    if r is not None:
        return DateRange(r.start, r.end, text, r.how)
    has_year = re.search(r"\b(1[89]|2\d)\d\d\b", clean) is not None
    if ref is None and not has_year:
        return None  # relative to "today" would be a guess
    data = _parser(ref).get_date_data(clean)
    if data is None or data.date_obj is None:
        return None
    d = data.date_obj.date()
    if data.period == "year":
        return DateRange(date(d.year, 1, 1), date(d.year, 12, 31), text, "dateparser")
    if data.period == "month":
        return _month(d.year, d.month, text, "dateparser")
    return _day(d, text, "dateparser")


def article_date(value) -> DateRange | None:
    """An article's date from a record's ``date`` field: ISO (``2025-09-03``, ``2025-09-03T18:14``)
    or a date as printed (``Rabu (3/9/2025)``, ``hari Kamis (4 September)``); None if unreadable.

    >>> article_date("2025-09-03T18:14").iso, article_date("hari Kamis (4 September)").iso
    ('2025-09-03', '2025-09-04')
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        d = date.fromisoformat(value.strip()[:10])
        return DateRange(d, d, value, "iso")
    except ValueError:
        pass
    r = normalise_date(value)
    return r if r is not None and r.days == 1 else None
