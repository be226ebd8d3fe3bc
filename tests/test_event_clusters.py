"""Gold event clusters: every story file matches the gold, and the loader names file:line on bad input."""

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from indoevent.annotation.event_clusters import ClusterError, chains, load_clusters, load_story
from indoevent.annotation.inline import parse
from indoevent.annotation.lsexport import read_export

SEED_STORY = "kim-putin-beijing-2025"  # the seeds are in corpus.json but not in the corpus index


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpus():
    root = ROOT
    docs = read_export(root / "annotations" / "corpus.json").documents
    index = json.loads((root / "annotations" / "corpus" / "index.json").read_text(encoding="utf-8"))
    story = {e["id"]: e["story"] for e in index}
    story.update({d.doc_id: SEED_STORY for d in docs if d.doc_id not in story})
    return root / "annotations" / "corpus" / "events", docs, story


def test_every_story_file_loads_against_the_gold(corpus):
    folder, docs, story = corpus
    events = load_clusters([folder], docs)  # raises on a missing trigger, wrong words or a mention used twice
    keys = [k for chain in chains(events) for k in chain]
    assert len(keys) == len(set(keys)), "a mention is in at most one event"
    by_id = {d.doc_id: d for d in docs}
    for f in sorted(folder.glob("*.yaml")):
        name = f.stem
        listed = [e for e in load_story(f, by_id) if e.story == name]
        assert listed and {m.article for e in listed for m in e.mentions} == {
            i for i, s in story.items() if s == name and by_id[i].triggers}, f"{f}: story name or articles wrong"
        for e in listed:
            assert len({m.type for m in e.mentions}) == 1, f"{e.where}: {e.id} mixes PLOVER types (guideline R64)"
        # every trigger of the story's articles is a mention of exactly one event
        triggers = sum(len(by_id[i].triggers) for i, s in story.items() if s == name)
        assert sum(len(e.mentions) for e in listed) == triggers


def test_every_multi_article_story_has_a_file(corpus):
    folder, _, story = corpus
    multi = {s for s, n in Counter(story.values()).items() if n > 1}
    assert len(multi) >= 11
    assert {f.stem for f in folder.glob("*.yaml")} == multi


def test_each_file_lists_all_its_articles_and_joins_across_articles(corpus):
    folder, docs, story = corpus
    by_id = {d.doc_id: d for d in docs}
    for f in folder.glob("*.yaml"):
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
        assert data["story"] == f.stem
        assert sorted(data["articles"]) == sorted(i for i, s in story.items() if s == f.stem), f
        events = [e for e in load_story(f, by_id) if len(e.mentions) > 1]
        assert all(e.id == ev["id"] for e, ev in zip(events, data["events"], strict=True))
        assert all(ev["what"].strip() for ev in data["events"]), f"{f}: an event without its sentence"
        assert any(len({m.article for m in e.mentions}) > 1 for e in events), f"{f}: no cross-article event"


# The loader's errors, on a two-article story built from markup.
ARTICLES = {
    "901_a": "⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > actor=e1⟧ Kim di Beijing. ⟦t2:MOBILIZE Parade⟧ usai.",
    "902_b": "⟦t1:CONSULT Pertemuan⟧ itu berlangsung lama.",
}


@pytest.fixture
def tiny():
    return [parse(text, doc_id) for doc_id, text in ARTICLES.items()]


def _story(tmp_path, mentions: str, articles: str = "[901_a, 902_b]"):
    path = tmp_path / "cerita.yaml"
    path.write_text(f"story: cerita\narticles: {articles}\nevents:\n  - id: pertemuan\n    what: Putin bertemu Kim.\n"
                    f"    mentions:\n{mentions}", encoding="utf-8")
    return path


def test_a_good_story_gives_its_events_and_singletons(tmp_path, tiny):
    path = _story(tmp_path, "      - 901:t1 bertemu\n      - 902:t1 Pertemuan\n")
    events = load_clusters([path], tiny)
    assert [(e.id, len(e.mentions)) for e in events] == [("pertemuan", 2), ("901:t2", 1)]
    assert chains(events)[0] == [("901_a", 6, 13), ("902_b", 0, 9)]


@pytest.mark.parametrize("mentions, line, message", [
    ("      - 901:t1 menemui\n      - 902:t1 Pertemuan\n", 7, "'bertemu' in the gold, the file says 'menemui'"),
    ("      - 901:t1 bertemu\n      - 902:t9 Pertemuan\n", 8, "902_b has no trigger 't9'"),
    ("      - 901:t1 bertemu\n      - 901:t1 bertemu\n", 8, "is already in event pertemuan"),
    ("      - 903:t1 bertemu\n", 7, "article '903' is not one of the story's articles"),
])
def test_bad_mentions_name_file_and_line(tmp_path, tiny, mentions, line, message):
    path = _story(tmp_path, mentions)
    with pytest.raises(ClusterError, match=rf"cerita\.yaml:{line}: .*{message}"):
        load_clusters([path], tiny)


def test_an_article_in_two_stories_is_refused(tmp_path, tiny):
    first = _story(tmp_path, "      - 901:t1 bertemu\n")
    second = tmp_path / "lain.yaml"
    second.write_text("story: lain\narticles: [901_a]\nevents: []\n", encoding="utf-8")
    with pytest.raises(ClusterError, match=r"lain\.yaml: article 901_a is also in .*cerita\.yaml"):
        load_clusters([first, second], tiny)


def test_an_unknown_article_is_refused(tmp_path, tiny):
    path = _story(tmp_path, "      - 901:t1 bertemu\n", articles="[901_a, 999_z]")
    with pytest.raises(ClusterError, match=r"cerita\.yaml:2: article '999_z' is not in the gold"):
        load_clusters([path], tiny)
