"""Self-training: a model pseudo-labels unlabelled news, and is trained again on gold + silver.

    round 0     train on the config's data (the teacher)                     -> OUT-self-train/round-0
    round k     the previous round's model predicts every unlabelled article through the one
                prediction path (Predictor, as `indoevent extract`); spans whose mean word
                probability reaches self_train.threshold are kept          -> OUT-self-train/silver-k.conll
                train from the backbone again on the config's data + that silver
    last round  trained into OUT: an ordinary run folder (extract, serve, pipeline())

The silver is partially labelled (:mod:`.partial`): a word of a kept span must take its tag, every
other word may take any tag (O included). The model's below-threshold guesses are thus neither taught
nor contradicted: a missed span costs nothing, where reading those words as O would teach the model to
miss it again. An article with no kept span teaches nothing and is left out. The silver is a CoNLL
source with ``labels: []`` (it annotates no label in full), so the run's config and ``run_info.json``
name and hash it like any other data file. Each round's dev scores go into ``OUT/metrics.json``
(``self_train.rounds``); earlier rounds keep their metrics beside the silver, not their weights.

Unlabelled text is read with the article reader of ``indoevent extract`` (.txt folders, id/text JSONL);
an article whose text is that of a dev or test article is refused: those stay unseen.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..atomic import write_text
from ..text.inputs import InputError, read_inputs
from ..text.iob import spans_to_tags
from .config import ConllSource, RunConfig, from_dict, load_config
from .data import DataError, load_corpus, split_corpus
from .predict import Prediction, Predictor
from .run_folder import holding
from .runs import RunExistsError, say
from .train import train


def self_train(config: RunConfig | str | Path | dict, unlabelled: Sequence[str | Path],
               output_dir: str | Path | None = None, *, overwrite: bool = False) -> Path:
    """Train, pseudo-label ``unlabelled`` and retrain, ``self_train.rounds`` times; returns the run folder.

    ``output_dir`` defaults to ``models/<run_name>``; the rounds' silver and metrics go beside it
    (``<output_dir>-self-train/``).
    """
    cfg = _as_config(config)
    final = Path(output_dir) if output_dir else Path("models") / cfg.run_name
    # The run folder's lock, for every round: train's own covers one round, so a second self-train
    # (or train) started between rounds would rewrite this one's silver and replace its run folder.
    with holding(final, "self-train"):
        return _self_train(cfg, unlabelled, final, overwrite)


def _self_train(cfg: RunConfig, unlabelled: Sequence[str | Path], final: Path, overwrite: bool) -> Path:
    if final.exists() and not overwrite:
        raise RunExistsError(f"{final} already exists: pass --overwrite to replace it, or choose another --output-dir")
    articles = read_unlabelled(unlabelled, cfg)
    rounds_dir = final.parent / f"{final.name}-self-train"
    _check_rounds_dir(rounds_dir)
    rounds_dir.mkdir(parents=True, exist_ok=True)
    st = cfg.self_train
    say(f"self-training: {len(articles)} unlabelled article(s), {st.rounds} round(s), threshold {st.threshold}")
    teacher = train(cfg, rounds_dir / "round-0", overwrite=True)
    history = [_round_record(0, teacher, None)]
    for k in range(1, st.rounds + 1):
        silver = rounds_dir / f"silver-{k}.conll"
        stats = pseudo_label(teacher, articles, st.threshold, silver)
        say(f"round {k}: {stats['articles_with_silver']} of {stats['articles']} article(s) pseudo-labelled, "
            f"{stats['spans_kept']} span(s) kept, {stats['spans_below_threshold']} below the threshold")
        last = k == st.rounds
        run = train(with_silver(cfg, silver, stats), final if last else rounds_dir / f"round-{k}",
                    overwrite=True)
        history.append(_round_record(k, run, stats))
        _keep_metrics_only(teacher, rounds_dir)
        teacher = run
    metrics_file = final / "metrics.json"
    metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    metrics["self_train"] = {"threshold": st.threshold, "unlabelled_articles": len(articles), "rounds": history}
    write_text(metrics_file, json.dumps(metrics, ensure_ascii=False, indent=1) + "\n")
    _print_rounds(history)
    return final


# What self-training writes beside the run: rounds (their metrics; the folders, locks and partial
# folders of train while a round runs) and silver. Anything else there is someone else's.
_OURS = re.compile(r"\.?round-\d+(\.metrics\.json|\.lock|\.partial)?|silver-\d+\.conll")


def _check_rounds_dir(rounds_dir: Path) -> None:
    """Refuse a ``-self-train`` folder that holds files self-training did not write (it replaces its own)."""
    if not rounds_dir.is_dir():
        return
    foreign = sorted(p.name for p in rounds_dir.iterdir() if not _OURS.fullmatch(p.name))
    if foreign:
        raise RunExistsError(f"{rounds_dir} holds files self-training did not write ({', '.join(foreign[:3])}); "
                             "it is never replaced: choose another --output-dir")


def _as_config(config: RunConfig | str | Path | dict) -> RunConfig:
    if isinstance(config, RunConfig):
        return config
    return from_dict(config) if isinstance(config, dict) else load_config(config)


def read_unlabelled(paths: Sequence[str | Path], cfg: RunConfig) -> list[tuple[str, str]]:
    """``(id, text)`` of the unlabelled articles; an unreadable input, or an article that is a dev or
    test article of the config's data, is a :class:`DataError` naming it."""
    split = split_corpus(load_corpus(cfg.data), cfg.data)
    held = {" ".join(a.text.split()): f"{name} article {a.doc_id}" for name in ("dev", "test") for a in split[name]}
    out = []
    for src in read_inputs(paths):
        if isinstance(src, InputError):
            raise DataError(f"unlabelled: {src}")
        clash = held.get(" ".join(src.text.split()))
        if clash:
            raise DataError(f"unlabelled: {src.source} ({src.id}) is the text of {clash}: dev and test articles "
                            "must stay unseen; remove it")
        out.append((src.id, src.text))
    if not out:
        raise DataError(f"unlabelled: no article in {', '.join(map(str, paths))}")
    return out


def silver_lines(prediction: Prediction, threshold: float) -> tuple[list[str], int, int]:
    """One pseudo-labelled article as CoNLL lines (word TAB tag): the words of spans whose score
    reaches ``threshold`` get their tags, every other word ``O`` (read back with ``labels: []``: any tag).
    Returns the lines (none when no span is kept) and the counts of kept and dropped spans.

    >>> from indoevent.document import Span
    >>> from indoevent.text.tokenize import tokenize
    >>> text = "Putin bertemu Xi di Beijing"
    >>> p = Prediction(text, [Span(0, 5, "PER", score=0.95), Span(20, 27, "GPE", score=0.6)],
    ...                [Span(6, 13, "CONSULT", score=0.91)], words=tokenize(text))
    >>> silver_lines(p, 0.9)
    (['Putin\\tB-PER', 'bertemu\\tB-CONSULT', 'Xi\\tO', 'di\\tO', 'Beijing\\tO'], 2, 1)
    """
    kept = [s for s in prediction.spans if s.score is not None and s.score >= threshold]
    dropped = len(prediction.spans) - len(kept)
    if not kept:
        return [], 0, dropped
    tags, _ = spans_to_tags(prediction.words, kept)  # predicted spans lie on word edges
    # The CoNLL reader splits a line at its first tab and strips the token: keep tokens readable.
    words = [w.text.replace("\t", " ") for w in prediction.words]
    return [f"{w}\t{t}" for w, t in zip(words, tags, strict=True) if w.strip()], len(kept), dropped


def pseudo_label(run: str | Path, articles: Iterable[tuple[str, str]], threshold: float, out: Path) -> dict:
    """Predict ``articles`` with the run (the one prediction path) and write the silver CoNLL file."""
    predictor = Predictor.from_pretrained(run, runtime="torch")
    stats = {"articles": 0, "articles_with_silver": 0, "spans_kept": 0, "spans_below_threshold": 0}
    blocks = []
    for p in predictor.predict_pairs(articles):
        lines, kept, dropped = silver_lines(p, threshold)
        stats["articles"] += 1
        stats["spans_kept"] += kept
        stats["spans_below_threshold"] += dropped
        if lines:
            stats["articles_with_silver"] += 1
            blocks.append("\n".join(lines))
    write_text(out, "\n\n".join(blocks) + "\n")
    return stats


def with_silver(cfg: RunConfig, silver: Path, stats: dict) -> RunConfig:
    """The config of a round: the config's data plus the silver, a CoNLL source that annotates no
    label in full (``labels: []``), so that only its kept spans are taught."""
    if not stats["articles_with_silver"]:
        return cfg
    source = ConllSource(path=str(silver), split="train", label_map={}, labels=[])
    data = dataclasses.replace(cfg.data, conll=[*cfg.data.conll, source])
    return dataclasses.replace(cfg, data=data)


def _round_record(k: int, run: Path, stats: dict | None) -> dict[str, Any]:
    """What a round adds to ``metrics.json``: its dev scores (strict span F1) and its silver."""
    m = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    dev = m.get("dev") or {}
    scores = {g: (dev.get(g) or {}).get("micro", {}).get("f1") for g in ("all", "entities", "triggers")}
    return {"round": k, "dev_f1": scores["all"], "dev_entities_f1": scores["entities"],
            "dev_triggers_f1": scores["triggers"], "best": m.get("best"), "silver": stats}


def _keep_metrics_only(run: Path, rounds_dir: Path) -> None:
    """An earlier round's weights go once it has pseudo-labelled; its metrics stay beside the silver."""
    if run.parent != rounds_dir:
        return
    shutil.copyfile(run / "metrics.json", rounds_dir / f"{run.name}.metrics.json")
    shutil.rmtree(run)


def _print_rounds(history: list[dict]) -> None:
    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    for r in history:
        print(f"round {r['round']}: dev F1 {f(r['dev_f1'])} (entities {f(r['dev_entities_f1'])}, "
              f"triggers {f(r['dev_triggers_f1'])})")


__all__ = ["self_train", "pseudo_label", "silver_lines"]
