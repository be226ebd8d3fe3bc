"""Events across articles: frames from many articles that report the same event become one
record, the way GDELT keeps a row per event and a row per mention.

Input is the JSONL that ``indoevent extract`` writes (one article per line, its ``events`` as
frame dicts), or the same records built from gold relations (:func:`.mentions.gold_records`). Every
mention is normalised first: actors and recipients to codes (:mod:`.actors`), its time argument
to a day or range against the article's date (:mod:`.dates`), its place to a country.

Before merging, the names the alias table does not know are chained across articles
(:func:`.mentions.chain_unknown_names`: "PDIP" and "Partai Demokrasi Indonesia Perjuangan", "Presiden
Joko Widodo" and "Joko Widodo"), since an unseen story's people and bodies are in no table.

Mentions then join events in three passes, each in a fixed order (deterministic), and every
join records why:

1. mentions with actors and a date of their own. A mention joins an event of the same PLOVER
   type whose date lies within ``window`` days, whose place is compatible (same country, or
   one side unknown) and whose actors fit: for meetings and agreements (CONSULT, COOPERATE,
   AGREE: both sides take part) the mention's participants are among the event's; for the
   other types the actors overlap, and the recipients too when both have any. Otherwise it
   founds a new event. The most often reported participant set goes first, so that it, not a
   stray one, founds the event; same actors on different days stay apart.
2. mentions with actors and no date: first an event their article already reports (a dated
   mention of the article is in it); else one dated on the article's day or up to
   ``lookback`` days before (news reports yesterday's events); else a new event on the
   article's date, marked ``date_source: article``. Without a date a mention has only its words
   to tell acts of one type and day apart, so it joins only an event that names the same
   recipients when both name any, and that has a mention of the same trigger root
   (:mod:`.roots`: "penangkapan" joins "ditangkap", "divonis" does not join "ditahan").
3. mentions with no actors ("pertemuan itu"), among events with a mention of their trigger root:
   the one event of their article that fits their type, place and date; of several, the only
   one in their place, else the one mentioned last before them (what "pertemuan itu" refers
   to); from another article the only one in their place, or the only one at all, else the one
   with the most mentions in the mention's very words ("gencatan senjata" joins the ceasefire
   reported so, not a side event of its root). When none fits, or several of other articles and
   nothing tells them apart, the mention founds an
   event (``date_source: article`` unless it has a date), so that its article's later bare
   mentions join it; it stays unmerged (``event: null``) only when several of its own
   article's events fit and none comes before it.

``window`` is 1 by default (two reports a day apart, "Rabu" and "Kamis dini hari", are one event
more often than two on the tuning stories); the rules were tuned on the train and dev stories of
the corpus (README, "Merge rules").
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from .actors import Actor, AliasTable
from .dates import DateRange
from .mentions import Article, Mention, chain_unknown_names, mentions_of
from .roots import trigger_roots

# Both sides of these take part alike ("Putin dan Kim bertemu" = "Kim bertemu Putin").
SYMMETRIC = frozenset({"CONSULT", "COOPERATE", "AGREE"})


@dataclass(eq=False)  # an event is itself: compared by identity
class Event:
    """Mentions of one event with why each joined; the first one founded it."""

    type: str
    date: DateRange
    date_source: str  # text: a mention's own time argument; article: its article's date
    actor_keys: frozenset[str]
    recipient_keys: frozenset[str]
    members: list[tuple[Mention, str]] = field(default_factory=list)
    seq: int = 0  # order of founding, for ties
    id: str = ""
    _places: set[str] = field(default_factory=set)  # countries of its mentions' places

    @property
    def founder(self) -> Mention:
        return next(m for m, why in self.members if why.startswith("founds"))

    @property
    def participants(self) -> frozenset[str]:
        return self.actor_keys | self.recipient_keys

    @property
    def place_countries(self) -> frozenset[str]:
        return frozenset(self._places)

    @property
    def articles(self) -> list[str]:
        return sorted({m.article.id for m, _ in self.members})


# --- merging ----------------------------------------------------------------------------------
def _codes(keys: Iterable[str]) -> str:
    return ", ".join(sorted(keys)) or "none"


def _actors_fit(m: Mention, ev: Event) -> str | None:
    """Why the mention's actors fit the event's, or None."""
    if m.type in SYMMETRIC:
        p = m.participants
        return f"participants {_codes(p)} among the event's {_codes(ev.participants)}" \
            if p and p <= ev.participants else None
    a, r = frozenset(x.key for x in m.actors), frozenset(x.key for x in m.recipients)
    if (a and ev.actor_keys and not (a & ev.actor_keys)) or (r and ev.recipient_keys and not (r & ev.recipient_keys)):
        return None
    shared = (a & ev.actor_keys, r & ev.recipient_keys)
    if not any(shared):
        return None
    why = [f"actors share {_codes(shared[0])}"] if shared[0] else []
    return "; ".join(why + ([f"recipients share {_codes(shared[1])}"] if shared[1] else []))


def _place_fit(m: Mention, ev: Event) -> str | None:
    mine, theirs = m.place_countries, ev.place_countries
    if mine and theirs:
        return f"place in {_codes(mine & theirs)}" if mine & theirs else None
    return "place compatible (one side unknown)"


def _founder_reason(m: Mention, how: str) -> str:
    who = _codes(m.participants if m.type in SYMMETRIC else {a.key for a in m.actors})
    return f"founds the event: {m.type} of {who} on {m.date.iso} ({how})"


class _Events:
    """The events found so far, indexed by type and day and by article, so that a mention is
    compared with the events near it only (merging stays linear in the number of mentions)."""

    def __init__(self) -> None:
        self.all: list[Event] = []
        self._days: dict[tuple[str, int], list[Event]] = defaultdict(list)
        self._articles: dict[tuple[str, str], list[Event]] = defaultdict(list)

    def found(self, m: Mention, date: DateRange, source: str, reason: str) -> None:
        a, r = frozenset(x.key for x in m.actors), frozenset(x.key for x in m.recipients)
        ev = Event(m.type, date, source, a, r, [], seq=len(self.all))
        self.all.append(ev)
        for day in range(date.start.toordinal(), date.end.toordinal() + 1):
            self._days[(m.type, day)].append(ev)
        self.join(ev, m, reason)

    def join(self, ev: Event, m: Mention, reason: str) -> None:
        if not any(x.article is m.article for x, _ in ev.members):
            self._articles[(ev.type, m.article.id)].append(ev)
        ev.members.append((m, reason))
        ev._places |= m.place_countries

    def near(self, type_: str, when: DateRange, window: int = 0) -> list[Event]:
        """Events of ``type_`` whose dates lie within ``window`` days of ``when``, oldest first."""
        lo, hi = when.start.toordinal() - window, when.end.toordinal() + window
        found = {ev.seq: ev for day in range(lo, hi + 1) for ev in self._days.get((type_, day), ())}
        return [found[k] for k in sorted(found)]

    def of_article(self, type_: str, article: str) -> list[Event]:
        return self._articles.get((type_, article), [])


def merge_mentions(mentions: Sequence[Mention], window: int = 1, lookback: int = 1,
                   progress: bool = False) -> tuple[list[Event], list[tuple[Mention, str]]]:
    """Cluster mentions into events (the module docstring tells how); returns the events, with
    ids ``E0001``... in date order, and the mentions left unmerged with why."""
    popular = Counter((m.type, m.participants) for m in mentions if m.participants)

    def rank(m: Mention) -> tuple:
        return (m.type, -popular[(m.type, m.participants)], -len(m.participants), m.date.days,
                m.date.start, m.order)

    dated = sorted((m for m in mentions if m.participants and m.own_date), key=rank)
    undated = sorted((m for m in mentions if m.participants and not m.own_date), key=rank)
    bare = sorted((m for m in mentions if not m.participants),
                  key=lambda m: (m.own_date is None, not m.place_countries, m.order))
    from tqdm.auto import tqdm

    events = _Events()
    left: list[tuple[Mention, str]] = []
    with tqdm(total=len(mentions), unit="mention", desc="merge", dynamic_ncols=True, disable=not progress) as bar:
        for m in dated:
            _merge_dated(m, events, window)
            bar.update(1)
        for m in undated:
            _merge_undated(m, events, lookback)
            bar.update(1)
        for m in bare:
            why = _merge_bare(m, events, window, lookback)
            if why:
                left.append((m, why))
            bar.update(1)
    out = events.all
    for ev in out:
        ev.members.sort(key=lambda x: x[0].order)
    out.sort(key=lambda e: (e.date.start, e.date.end, e.type, -len(e.members), e.members[0][0].order))
    for n, ev in enumerate(out, 1):
        ev.id = f"E{n:04d}"
    return out, sorted(left, key=lambda x: x[0].order)


def _merge_dated(m: Mention, events: _Events, window: int) -> None:
    """Pass 1: a mention with actors and its own date joins the best fitting event of its days."""
    own = m.own_date
    assert own is not None, "pass 1 takes the mentions with their own date"
    best = None
    for ev in events.near(m.type, own, window):
        fit, place = _actors_fit(m, ev), _place_fit(m, ev)
        if fit and place:
            score = (-len(m.participants & ev.participants), abs((own.start - ev.date.start).days))
            if best is None or score < best[0]:
                best = (score, ev, f"same {m.type}; {fit}; date {own.iso} fits {ev.date.iso}; {place}")
    if best:
        events.join(best[1], m, best[2])
    else:
        events.found(m, own, "text", _founder_reason(m, f"its own date {own.text!r}"))


def _same_recipients(m: Mention, ev: Event) -> bool:
    """For a mention without a date: when both name recipients, the same ones ("divonis" of Kuat
    Ma'ruf is not the verdict on Ferdy Sambo that founded the event, though both were tried)."""
    if m.type in SYMMETRIC:
        return True
    r = frozenset(x.key for x in m.recipients)
    return not r or not ev.recipient_keys or r == ev.recipient_keys


def _same_word(m: Mention, ev: Event) -> bool:
    """Whether a mention of the event shares the mention's trigger root ("penangkapan" and
    "ditangkap"; not "ditahan" and "divonis"): without a date of its own, a mention has only its
    words to tell one act from another of the same type, actors and day."""
    mine = trigger_roots(m.trigger.text)
    return any(mine & trigger_roots(x.trigger.text) for x, _ in ev.members)


def _merge_undated(m: Mention, events: _Events, lookback: int) -> None:
    """Pass 2: its article's event, else one of the article's day or up to ``lookback`` days before."""
    def fits(ev: Event) -> bool:
        return bool(_actors_fit(m, ev) and _place_fit(m, ev) and _same_recipients(m, ev) and _same_word(m, ev))

    own = [ev for ev in events.of_article(m.type, m.article.id) if fits(ev)]
    if own:
        ev = min(own, key=lambda e: (-len(m.participants & e.participants), e.seq))
        events.join(ev, m, f"no date of its own: joins its article's {m.type} event of {ev.date.iso}; "
                           f"{_actors_fit(m, ev)}; {_place_fit(m, ev)}")
        return
    reach = DateRange(m.article.date.start - timedelta(days=lookback), m.article.date.end)
    near = [ev for ev in events.near(m.type, reach) if fits(ev)]
    if near:
        ev = min(near, key=lambda e: (-len(m.participants & e.participants), -e.date.start.toordinal(), e.seq))
        events.join(ev, m, f"no date of its own: its article's date {m.article.date.iso} is on or up to "
                           f"{lookback} day(s) after the event's {ev.date.iso}; {_actors_fit(m, ev)}; "
                           f"{_place_fit(m, ev)}")
    else:
        events.found(m, m.article.date, "article", _founder_reason(m, "no date of its own: dated by its article"))


def _antecedent(m: Mention, candidates: list[Event]) -> tuple[Event, Mention] | None:
    """Of its article's events, the one with the mention closest before ``m`` and that mention (a
    bare "pertemuan itu" refers to the meeting last named); None when none comes before it."""
    before = [(x.trigger.start, ev.seq, ev, x) for ev in candidates for x, _ in ev.members
              if x.article is m.article and x.trigger.start < m.trigger.start]
    if not before:
        return None
    _, _, ev, x = max(before, key=lambda b: (b[0], -b[1]))
    return ev, x


def _most_reported(m: Mention, fits: list[Event]) -> tuple[Event, int] | None:
    """Of several events of other articles, the one with the most mentions in the mention's very
    words, and their number; None on a tie. A bare "gencatan senjata" names the ceasefire that the
    story reports as "gencatan senjata" most, not a side event that shares its root."""
    word = m.trigger.text.lower()
    counts = sorted(((sum(x.trigger.text.lower() == word for x, _ in ev.members), ev.seq, ev) for ev in fits),
                    key=lambda t: (-t[0], t[1]))
    if len(counts) > 1 and counts[0][0] > counts[1][0]:
        return counts[0][2], counts[0][0]
    return None


def _merge_bare(m: Mention, events: _Events, window: int, lookback: int) -> str | None:
    """Pass 3: a mention without actors joins the one event that fits; returns why not otherwise."""
    when = m.own_date or DateRange(m.article.date.start - timedelta(days=lookback), m.article.date.end)
    fits = [ev for ev in events.near(m.type, when, window if m.own_date else 0) if _place_fit(m, ev)]
    fits = [ev for ev in fits if _same_word(m, ev)]
    own = [ev for ev in fits if ev in events.of_article(m.type, m.article.id)]
    placed = [ev for ev in (own or fits) if m.place_countries & ev.place_countries]
    if len(own) == 1:
        ev, why = own[0], f"no actors: the only {m.type} event of its article that fits its place and date"
    elif len(own) > 1 and len(placed) == 1:
        ev, why = placed[0], f"no actors: of its article's {len(own)} {m.type} events the only one in its place"
    elif len(own) > 1 and (near := _antecedent(m, own)):
        ev, why = near[0], (f"no actors: of its article's {len(own)} {m.type} events the one mentioned last "
                            f"before it ({near[1].trigger.text!r} at {near[1].trigger.start})")
    elif not own and len(placed) == 1:
        ev, why = placed[0], (f"no actors: the only {m.type} event in its place ({_codes(m.place_countries)}) "
                              f"on {placed[0].date.iso}")
    elif not own and len(fits) == 1:
        ev, why = fits[0], f"no actors: the only {m.type} event on {fits[0].date.iso} that fits its place and word"
    elif not own and (top := _most_reported(m, fits)):
        ev, why = top[0], (f"no actors: of {len(fits)} {m.type} events that fit, the one with the most "
                           f"mentions in its words ({top[1]} x {m.trigger.text.lower()!r})")
    elif not own:
        # the first report of an event whose actors no frame names ("unjuk rasa di depan DPR"), or
        # one of several in other articles that nothing tells apart: it founds an event, so that its
        # article's later bare mentions have one to join
        date, source = (m.own_date, "text") if m.own_date else (m.article.date, "article")
        events.found(m, date, source, _founder_reason(m, "no actors and no one event fits: dated by "
                                                         + ("its own date" if m.own_date else "its article")))
        return None
    else:
        n = len(own) or len(fits)
        return f"not merged: no actors, and {n} {m.type} events fit"
    events.join(ev, m, f"{why}; {_place_fit(m, ev)}")
    return None


# --- records ------------------------------------------------------------------------------------
def _tally(actors: Iterable[Actor]) -> list[dict]:
    count = Counter((a.code, a.country, a.sector, a.name) for a in actors)
    return [{"code": c, "country": k, "sector": s, "name": n, "mentions": v}
            for (c, k, s, n), v in sorted(count.items(), key=lambda kv: (-kv[1], kv[0][0] or "~", kv[0][3]))]


def event_record(ev: Event) -> dict:
    """One row of ``events.jsonl``. For meetings and agreements every participant is an actor
    (both sides take part); for the other types actors and recipients stay apart."""
    ms = [m for m, _ in ev.members]
    if ev.type in SYMMETRIC:
        actors, recipients = _tally(a for m in ms for a in m.actors + m.recipients), []
    else:
        actors, recipients = _tally(a for m in ms for a in m.actors), _tally(a for m in ms for a in m.recipients)
    places = Counter((p.name, p.country) for m in ms for p in m.places)
    (pname, pcountry), _ = max(places.items(), key=lambda kv: (kv[1], kv[0][1] is not None, kv[0][0])) \
        if places else ((None, None), 0)
    return {"event": ev.id, "type": ev.type, "date": ev.date.iso, "date_start": ev.date.start.isoformat(),
            "date_end": ev.date.end.isoformat(), "date_source": ev.date_source,
            "actors": actors, "recipients": recipients,
            "place": {"name": pname, "country": pcountry} if pname else None,
            "places": [{"name": n, "country": c, "mentions": k} for (n, c), k in sorted(places.items(), key=lambda kv: (-kv[1], kv[0][0]))],
            "mentions": len(ms), "sources": len(ev.articles), "articles": ev.articles,
            "founded_by": f"{ev.founder.article.id}@{ev.founder.trigger.start}"}


def mention_record(m: Mention, ev: Event | None, reason: str) -> dict:
    """One row of ``mentions.jsonl``: the event it belongs to, its article, trigger, the frame,
    its normalised arguments and why it was merged (or not). A mention without a date of its
    own is dated by the event it joined (``date_source: event``), else by its article."""
    if m.own_date:
        date, source = m.own_date, "text"
    elif ev is not None and ev.founder is not m:
        date, source = ev.date, "event"
    else:
        date, source = m.article.date, "article"
    return {"event": ev.id if ev else None, "article": m.article.id, "source": m.article.where, "type": m.type,
            "trigger": {"text": m.trigger.text, "start": m.trigger.start, "end": m.trigger.end},
            "date": date.iso, "date_source": source,
            "date_notes": list(m.date_notes),
            "actors": [a.to_dict() for a in m.actors], "recipients": [a.to_dict() for a in m.recipients],
            "places": [p.to_dict() for p in m.places], "reason": reason, "frame": m.frame}


@dataclass
class MergeResult:
    events: list[dict]
    mentions: list[dict]

    @property
    def unmerged(self) -> int:
        return sum(m["event"] is None for m in self.mentions)


def merge(articles: Sequence[Article], table: AliasTable | None = None, window: int = 1,
          lookback: int = 1, progress: bool = False) -> MergeResult:
    """Normalise and merge the frames of ``articles`` into event and mention records."""
    table = table or AliasTable.load()
    mentions = chain_unknown_names([m for a in sorted(articles, key=lambda a: a.id) for m in mentions_of(a, table)])
    events, left = merge_mentions(mentions, window=window, lookback=lookback, progress=progress)
    rows = [(m.order, mention_record(m, ev, why)) for ev in events for m, why in ev.members]
    rows += [(m.order, mention_record(m, None, why)) for m, why in left]
    by_event = {ev.id: i for i, ev in enumerate(events)}
    rows.sort(key=lambda r: (r[1]["event"] is None, by_event.get(r[1]["event"], 0), r[0]))
    return MergeResult([event_record(ev) for ev in events], [r for _, r in rows])
