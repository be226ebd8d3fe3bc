"""Actors to PLOVER-style codes: a country (ISO 3166 alpha-3, or IGO/UNO/EUR/NGO) and a sector
(GOV, MIL, MED ...), with a normalised name for persons.

The alias table is data (``data/actors.yaml``, Indonesian and English names); country names
in both languages come from ``pycountry``. Within one article a short form corefers to the
full name it is part of ("Kim" and "Kim Jong-un" to "Kim Jong Un"). An actor that neither
the table nor the article explains keeps its text and gets no code: never a guess.

>>> table = AliasTable.load()
>>> a = table.actor("Korut")
>>> a.code, a.name
('PRK', 'Korea Utara')
>>> table.actor("Pyongyang").code, table.place("Pyongyang").country   # a capital acts as its government
('PRKGOV', 'PRK')
>>> table.actor("Putin").code, table.actor("Putin").name
('RUSGOV', 'Vladimir Putin')
>>> table.actor("Pak Dadang", "PER").code is None
True
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from ..document import Span

DATA = "data/actors.yaml"


@lru_cache(maxsize=65536)  # the same names come back in every article
def name_key(text: str) -> str:
    """How names are compared: lower case, accents dropped, hyphens and dots as spaces.

    >>> name_key("Kim Jong-un") == name_key("Kim Jong Un") == name_key("KIM JONG-UN")
    True
    >>> name_key("Aleksandar Vučić")
    'aleksandar vucic'
    """
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    t = re.sub(r"[-‐–—.’'`]", " ", t)
    return re.sub(r"\s+", " ", t).strip()


@dataclass(frozen=True)
class Actor:
    """One actor as normalised: the text, a name, and a country and sector when known."""

    text: str
    name: str
    country: str | None = None
    sector: str | None = None
    kind: str = "unknown"  # person, organisation, country, capital, place, unknown

    @property
    def code(self) -> str | None:
        """The CAMEO-style code: country and sector joined (``RUSGOV``), the country alone, or None."""
        return None if self.country is None else self.country + (self.sector or "")

    @property
    def key(self) -> str:
        """What merging compares: the country; for an uncoded actor its name (``?kim``)."""
        return self.country or "?" + name_key(self.name)

    def to_dict(self) -> dict:
        return {"text": self.text, "name": self.name, "code": self.code, "country": self.country,
                "sector": self.sector, "kind": self.kind}


@dataclass(frozen=True)
class Place:
    """A place as normalised: its name and country when known."""

    text: str
    name: str
    country: str | None = None

    def to_dict(self) -> dict:
        return {"text": self.text, "name": self.name, "country": self.country}


@dataclass(frozen=True)
class _Entry:
    name: str
    country: str
    sector: str | None
    kind: str


def _pycountry_names() -> dict[str, tuple[str, str]]:
    """English and Indonesian names of every ISO 3166 country -> (alpha-3, its Indonesian name)."""
    import pycountry

    id_: Callable[[str], str]
    try:
        id_ = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["id"]).gettext
    except OSError:
        id_ = str
    names: dict[str, tuple[str, str]] = {}
    shorts: list[tuple[str, tuple[str, str]]] = []
    for c in pycountry.countries:
        # "Iran, Republik Islam" reads as "Iran" in news, "Negara Palestina" as "Palestina"
        short = id_(c.name).split(", ")[0].removeprefix("Negara ")
        for attr in ("name", "official_name", "common_name"):
            n = getattr(c, attr, None)
            if n:
                names.setdefault(name_key(n), (c.alpha_3, short))
                names.setdefault(name_key(id_(n)), (c.alpha_3, short))
        shorts.append((name_key(short), (c.alpha_3, short)))
    for key, entry in shorts:  # after every full name: "Perancis" is France, not its southern lands
        names.setdefault(key, entry)
    return names


class AliasTable:
    """The alias table: names -> entries (persons, organisations, countries, capitals, places)."""

    def __init__(self, data: dict):
        self.sectors: dict[str, str] = dict(data.get("sectors") or {})
        self.persons: dict[str, _Entry] = {}
        self.bodies: dict[str, _Entry] = {}  # organisations, countries and capitals
        self.places: dict[str, _Entry] = {}
        # A country's name is the table's first name for it, else pycountry's Indonesian one.
        for key, (code, name) in _pycountry_names().items():
            self.bodies[key] = _Entry(name, code, None, "country")
        for code, names in (data.get("countries") or {}).items():
            for n in names:
                self.bodies[name_key(n)] = _Entry(names[0], code, None, "country")
        for code, names in (data.get("capitals") or {}).items():
            for n in names:
                self.bodies[name_key(n)] = _Entry(n, code, "GOV", "capital")
                self.places[name_key(n)] = _Entry(n, code, None, "place")
        for kind, target in (("organisations", self.bodies), ("persons", self.persons)):
            for item in data.get(kind) or []:
                e = _Entry(item["name"], item["country"], item.get("sector"), kind[:-1])
                for n in [item["name"], *(item.get("aliases") or [])]:
                    target[name_key(n)] = e
        for code, names in (data.get("places") or {}).items():
            for n in names:
                self.places[name_key(n)] = _Entry(n, code, None, "place")
        for key, e in self.bodies.items():
            if e.kind == "country":
                self.places.setdefault(key, e)

    @classmethod
    def load(cls, extra: str | Path | None = None) -> AliasTable:
        """The table in the package (``data/actors.yaml``), extended by the YAML file ``extra``
        (same sections; its entries win)."""
        return _load(str(extra) if extra else None)

    def actor(self, text: str, label: str | None = None) -> Actor:
        """The actor a name stands for, context-free; a person (``label="PER"``) only by the
        person table; unknown names keep their text and get no code."""
        key = name_key(text)
        e = self.persons.get(key) if label == "PER" else self.bodies.get(key) or self.persons.get(key)
        if e is None and label not in ("PER", None):
            p = self.places.get(key)  # a city or region acting: its country, no sector
            e = _Entry(p.name, p.country, None, "place") if p else None
        if e is None:
            return Actor(text, text)
        return Actor(text, e.name, e.country, e.sector, e.kind)

    def place(self, text: str) -> Place:
        """The place a name stands for: its name and country (None when unknown)."""
        e = self.places.get(name_key(text)) or self.bodies.get(name_key(text))
        return Place(text, e.name if e else text, e.country if e else None)


def _read_yaml(raw: str, where: str) -> dict:
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{where}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping (sectors, countries, capitals, organisations, persons, places)")
    return data


@lru_cache(maxsize=4)
def _load(extra: str | None) -> AliasTable:
    data = _read_yaml(resources.files(__package__).joinpath(DATA).read_text(encoding="utf-8"),
                      f"indoevent/events/{DATA}")
    where = f"indoevent/events/{DATA}"
    if extra is not None:
        where = extra
        for section, value in _read_yaml(Path(extra).read_text(encoding="utf-8"), extra).items():
            if isinstance(value, dict):
                merged = dict(data.get(section) or {})
                for k, v in value.items():
                    merged[k] = (list(merged.get(k) or []) + list(v)) if isinstance(v, list) else v
                data[section] = merged
            else:
                data[section] = list(data.get(section) or []) + list(value or [])
    try:
        return AliasTable(data)
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"{where}: malformed entry ({e!r}); see the comments at the top of "
                         f"indoevent/events/{DATA}") from e


# --- within one article ---------------------------------------------------------------------
def _inside(short: list[str], full: list[str]) -> bool:
    n = len(short)
    return n < len(full) and any(full[i:i + n] == short for i in range(len(full) - n + 1))


def corefer(names: Iterable[str]) -> dict[str, str]:
    """Person names of one article (in text order) -> the full name each stands for: a name whose
    words lie inside a longer name of the article is that name ("Kim" -> "Kim Jong Un"); several
    candidates: the one mentioned most (then first). The full name is its most frequent spelling.

    >>> m = corefer(["Kim Jong Un", "Kim", "Kim Jong-un", "Kim Ju-ae", "Kim Jong-Un", "Jinping", "Xi Jinping"])
    >>> m["Kim"], m["Kim Jong-un"], m["Kim Jong-Un"], m["Kim Ju-ae"], m["Jinping"]
    ('Kim Jong Un', 'Kim Jong Un', 'Kim Jong Un', 'Kim Ju-ae', 'Xi Jinping')
    """
    names = list(names)
    count = Counter(name_key(n) for n in names)
    first: dict[str, int] = {}
    spelling: dict[str, Counter] = {}
    for i, n in enumerate(names):
        first.setdefault(name_key(n), i)
        spelling.setdefault(name_key(n), Counter())[n] += 1
    words = {k: k.split() for k in count}
    top = [k for k in count if not any(_inside(words[k], words[o]) for o in count)]

    # Mentions of a full name and of all its short forms.
    weight = {t: sum(c for o, c in count.items() if o == t or _inside(words[o], words[t])) for t in top}
    first_spelling = {n: i for i, n in reversed(list(enumerate(names)))}
    out = {}
    for n in dict.fromkeys(names):
        k = name_key(n)
        cands = [t for t in top if t == k or _inside(words[k], words[t])]
        best = min(cands, key=lambda t: (-weight[t], first[t])) if cands else k
        out[n] = max(spelling[best].items(), key=lambda kv: (kv[1], -first_spelling[kv[0]]))[0]
    return out


# --- across articles ---------------------------------------------------------------------------
# Words before a name that say what someone is, not who ("Presiden Joko Widodo", "Brigadir J"):
# dropped when unknown names are compared across articles.
TITLES = frozenset("""presiden wakil menteri perdana kepala ketua sekjen sekretaris jenderal juru bicara jubir
    gubernur bupati wali kota walikota brigadir brigjen irjen kombes kapolri kapolda kapolres jaksa hakim
    terdakwa tersangka pak bu bapak ibu dr prof h hj ir raja ratu pangeran syekh sultan kiai ustaz habib
    pm menlu dubes duta besar panglima direktur komjen letjen mayjen kolonel marsekal laksamana akbp kompol
    mr mrs ms""".split())


@lru_cache(maxsize=1)
def _country_words() -> frozenset[str]:
    """Countries named in one word ("kamboja", "thailand"), in English and Indonesian."""
    return frozenset(k for k in _pycountry_names() if " " not in k)


def bare_name(name: str) -> list[str]:
    """The words of a name as compared across articles: a parenthesis and leading titles dropped,
    and the country a title names ("Perdana Menteri Kamboja Hun Manet" is Hun Manet, so that "Dubes
    Kamboja" does not stand for him).

    >>> bare_name("Pengadilan Negeri (PN) Jakarta Selatan"), bare_name("Presiden Joko Widodo")
    (['pengadilan', 'negeri', 'jakarta', 'selatan'], ['joko', 'widodo'])
    >>> bare_name("Perdana Menteri Kamboja Hun Manet"), bare_name("Dubes Kamboja")
    (['hun', 'manet'], ['kamboja'])
    """
    words = name_key(re.sub(r"\([^)]*\)", " ", name)).split()
    titled = False
    while len(words) > 1 and words[0] in TITLES:
        words, titled = words[1:], True
    if titled and len(words) > 1 and words[0] in _country_words():
        words = words[1:]
    return words


MAX_NAME_WORDS = 8  # longer "names" (a misread span) are compared whole only


def _abbreviations(words: list[str]) -> list[list[str]]:
    """The name, and the name with one run of two or more words written as its initials
    ("pengadilan negeri jakarta" -> "pn jakarta", "pnj", "pengadilan nj")."""
    out = [words]
    if len(words) > MAX_NAME_WORDS:
        return out
    for i in range(len(words)):
        for j in range(i + 2, len(words) + 1):
            out.append(words[:i] + ["".join(w[0] for w in words[i:j])] + words[j:])
    return out


def _short_forms(words: list[str]) -> set[tuple[str, ...]]:
    """Every way of naming ``words`` in fewer words: a run of its words ("sambo" of "ferdy sambo"),
    an abbreviation ("pdip" of "partai demokrasi indonesia perjuangan"), or a run of an abbreviation
    ("pn jakarta" of "pengadilan negeri jakarta selatan")."""
    out: set[tuple[str, ...]] = set()
    for v in _abbreviations(words):
        if v is not words:
            out.add(tuple(v))
        if len(v) <= MAX_NAME_WORDS:
            out.update(tuple(v[i:j]) for i in range(len(v)) for j in range(i + 1, len(v) + 1) if j - i < len(v))
    out.discard(tuple(words))
    return out


def chain_names(names: Iterable[str]) -> dict[str, str]:
    """Unknown names of several articles -> the name each stands for: a name whose words (titles
    and parentheses dropped) lie inside a longer name, or are its abbreviation, is that name;
    several candidates: the one mentioned most (then first). Names the table knows are not given
    here: "Jokowi" for "Joko Widodo" stays the table's job. Linear in the names (an index of every
    name's short forms): 20,000 names chain in under 2 s (the pairwise way took 2 minutes for 2,000).

    >>> m = chain_names(["Partai Demokrasi Indonesia Perjuangan", "PDIP", "Pengadilan Negeri Jakarta Selatan",
    ...                  "PN Jakarta Selatan", "PN", "Ferdy Sambo", "Sambo", "Presiden Joko Widodo", "Joko Widodo"])
    >>> m["PDIP"], m["PN Jakarta Selatan"], m["PN"], m["Sambo"]
    ('Partai Demokrasi Indonesia Perjuangan', 'Pengadilan Negeri Jakarta Selatan', 'Pengadilan Negeri Jakarta Selatan', 'Ferdy Sambo')
    >>> m["Presiden Joko Widodo"] == m["Joko Widodo"]
    True
    """
    names = list(names)
    key_of = {n: " ".join(bare_name(n)) or name_key(n) for n in dict.fromkeys(names)}
    count: Counter = Counter(key_of[n] for n in names)
    first: dict[str, int] = {}
    spelling: dict[str, Counter] = {}
    for i, n in enumerate(names):
        first.setdefault(key_of[n], i)
        spelling.setdefault(key_of[n], Counter())[n] += 1
    first_spelling = {n: i for i, n in reversed(list(enumerate(names)))}
    longer: dict[tuple[str, ...], set[str]] = {}  # a short form -> the names it may stand for
    for k in count:
        for form in _short_forms(k.split()):
            longer.setdefault(form, set()).add(k)
    stands = {k: longer.get(tuple(k.split()), set()) - {k} for k in count}
    top = {k for k in count if not stands[k]}
    weight = {t: count[t] for t in top}
    for o, fulls in stands.items():
        for t in fulls & top:
            weight[t] += count[o]
    out = {}
    for n, k in key_of.items():
        cands = ({k} & top) | (stands[k] & top)
        best = min(cands, key=lambda t: (-weight[t], first[t])) if cands else k
        out[n] = max(spelling[best].items(), key=lambda kv: (kv[1], -first_spelling[kv[0]]))[0]
    return out


class ArticleActors:
    """The normaliser of one article: the table, plus coreference of its person names."""

    def __init__(self, table: AliasTable, entities: Sequence[Span]):
        self.table = table
        self.full = corefer(s.text for s in sorted(entities) if s.label == "PER")

    def actor(self, span: Span) -> Actor:
        """The actor an argument span stands for (persons through the article's coreference).

        >>> from indoevent.document import Span
        >>> ents = [Span(0, 11, "PER", "Kim Jong-Un"), Span(20, 23, "PER", "Kim"), Span(30, 35, "PER", "Ahmad")]
        >>> art = ArticleActors(AliasTable.load(), ents)
        >>> [(a.text, a.name, a.code) for a in map(art.actor, ents)]
        [('Kim Jong-Un', 'Kim Jong Un', 'PRKGOV'), ('Kim', 'Kim Jong Un', 'PRKGOV'), ('Ahmad', 'Ahmad', None)]
        """
        if span.label != "PER":
            return self.table.actor(span.text, span.label)
        full = self.full.get(span.text, span.text)
        a = self.table.actor(full, "PER")
        if a.code is None and full != span.text:
            return Actor(span.text, full)  # corefers, but the person is not in the table
        return Actor(span.text, a.name, a.country, a.sector, a.kind)

    def place(self, span: Span) -> Place:
        return self.table.place(span.text)
