"""Unlabelled news for the stages that learn from it (``pretrain``, ``distill``).

Read with the one article reader (:func:`indoevent.text.inputs.read_inputs`: .txt folders or id/text
JSONL, the inputs ``extract`` takes); an input it cannot read stops the run with its ``path:line``,
as a bad gold file does. Articles whose text is that of a held-out (dev or test) gold article are
dropped and counted: a model must never see the text it is scored on, even without labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ..text.inputs import InputError, Source, read_inputs
from .data import DataError


def as_paths(spec: str | Sequence[str] | None) -> list[str]:
    """One path or a list of them, as a config holds them.

    >>> as_paths("berita.jsonl"), as_paths(["a/", "b.jsonl"]), as_paths(None)
    (['berita.jsonl'], ['a/', 'b.jsonl'], [])
    """
    if spec is None:
        return []
    return [spec] if isinstance(spec, str) else list(spec)


def read_unlabelled(paths: Sequence[str | Path], held_out: Iterable[str] = (),
                    what: str = "unlabelled") -> tuple[list[Source], dict]:
    """The articles of ``paths`` and a report (articles, characters, words, dropped held-out texts,
    the files read). Raises :class:`DataError` naming the input and why when one cannot be read, or when
    there is no article at all."""
    if not paths:
        raise DataError(f"no {what} news given: name .txt folders or id/text JSONL files")
    banned = {_key(t) for t in held_out}
    kept: list[Source] = []
    dropped: list[str] = []
    files: dict[str, None] = {}
    for item in read_inputs(paths):
        if isinstance(item, InputError):
            raise DataError(f"{what} news: {item}")
        # a .txt article's source is its file, a JSONL one's ``path:line``: the file is hashed into run_info.json
        files[item.source if Path(item.source).is_file() else item.source.rsplit(":", 1)[0]] = None
        if _key(item.text) in banned:
            dropped.append(item.id)
            continue
        kept.append(item)
    if not kept:
        raise DataError(f"{what} news {', '.join(map(str, paths))}: no article left"
                        + (f" ({len(dropped)} held-out article(s) dropped)" if dropped else ""))
    report = {"paths": [str(p) for p in paths], "articles": len(kept), "characters": sum(len(s.text) for s in kept),
              "words": sum(len(s.text.split()) for s in kept), "held_out_dropped": dropped, "files": list(files)}
    return kept, report


def _key(text: str) -> str:
    """Texts compared without their whitespace: a re-saved copy of a test article is still that article.

    >>> _key(" Prabowo  bertemu\\nXi ") == _key("Prabowo bertemu Xi")
    True
    """
    return " ".join(text.split())
