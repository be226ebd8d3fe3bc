"""The Extractor: offsets, windows as in training, long articles, frames, formats.

Models are built offline: a tiny random BERT (``indoevent.model.tiny``) with either an untrained
head (behaviour and invariants only, never its scores) or a hard-wired head whose output is
known in advance (``tests/scaffold.py``'s ``wire_head``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the extractor needs torch")

from indoevent.annotation.lsexport import read_export  # noqa: E402
from indoevent.events.extractor import Extraction, Extractor  # noqa: E402
from indoevent.model.runtime import TorchForward  # noqa: E402
from indoevent.model.windows import encode_windows  # noqa: E402
from indoevent.schema import bio_tags  # noqa: E402
from indoevent.text.iob import spans_to_tags  # noqa: E402
from indoevent.text.tokenize import tokenize  # noqa: E402
from scaffold import WIRE as SHARED_WIRE  # noqa: E402
from scaffold import init_run, merge_windows

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
# Each of these sub-words always gets its tag; every other sub-word gets O.
WIRE = {**SHARED_WIRE, "rusia": "B-GPE"}  # ODD's Rusia too
ODD = ("“Putin” 😀 bertemu Kim Jong Un di Beijing pada Rabu.\r\n"
       "👩🏽‍💻 Rusia\u00a0menolak…\tPutin!\r\n\r\n«Beijing» — ‘Kim’ bertemu👍🏽Putin.")


@pytest.fixture(scope="module")
def wired_run(base, tmp_path_factory) -> Path:
    """The shared wired run's head, with Rusia tagged too."""
    return init_run(base, tmp_path_factory.mktemp("runs") / "wired", wire=WIRE)


@pytest.fixture(scope="module")
def wired(wired_run) -> Extractor:
    return Extractor.from_pretrained(wired_run, device="cpu")


@pytest.fixture(scope="module")
def short_run(base, tmp_path_factory) -> Path:
    """Untrained head, windows of 48 sub-words overlapping by 12: a seed article spans many."""
    return init_run(base, tmp_path_factory.mktemp("runs") / "short", max_length=48, overlap=12)


@pytest.fixture(scope="module")
def short(short_run) -> Extractor:
    return Extractor.from_pretrained(short_run, device="cpu", batch_size=3)


def seed_text(i: int = 0) -> str:
    return SEEDS[i].read_bytes().decode("utf-8")


def expected_wired(text: str, tokenizer) -> list[tuple[str, str]]:
    """What the wired head must find: a word takes the tag of its first sub-word; an I- tag
    continues a span of its label on the previous word, else opens one."""
    out: list[list] = []
    prev = None
    for w in tokenize(text):
        pieces = tokenizer.tokenize(w.text)
        tag = WIRE.get(pieces[0], "O") if pieces else "O"
        if tag.startswith("I-") and prev is not None and prev[2] == tag[2:]:
            prev[1] = w.end
        elif tag != "O":
            prev = [w.start, w.end, tag[2:]]
            out.append(prev)
        else:
            prev = None
    return [(text[a:b], lab) for a, b, lab in out]


def check_offsets(text: str, art: Extraction) -> None:
    words = tokenize(text)
    starts, ends = {w.start for w in words}, {w.end for w in words}
    spans = art.spans
    for s in spans:
        assert 0 <= s.start < s.end <= len(text)
        assert text[s.start:s.end] == s.text
        assert s.start in starts and s.end in ends, s
        assert 0.0 < s.score <= 1.0
    for a, b in pairwise(spans):
        assert a.end <= b.start, (a, b)


# --- offsets -------------------------------------------------------------------------------------
def test_offsets_with_emoji_curly_quotes_and_crlf(wired):
    art = wired.extract(ODD, id="odd")
    check_offsets(ODD, art)
    assert [(s.text, s.label) for s in art.spans] == expected_wired(ODD, wired.predictor.tokenizer)
    assert ("Kim Jong Un", "PER") in [(s.text, s.label) for s in art.entities]
    assert art.id == "odd" and art.stats["words"] == len(tokenize(ODD))


def test_offsets_hold_for_an_untrained_head(short):
    texts = [seed_text(i) for i in range(len(SEEDS))] + [ODD, ODD.replace("\r\n", "\r")]
    for text, art in zip(texts, short.extract_many(texts), strict=True):
        check_offsets(text, art)
        assert art.stats["windows"] == len(encode_windows(short.predictor.tokenizer, [w.text for w in tokenize(text)], 48, 12))


def test_empty_and_blank_articles(wired):
    for text in ("", "   \r\n\t"):
        art = wired.extract(text)
        assert art.spans == [] and art.events == [] and art.score is None and art.stats["windows"] == 0


def test_rejects_non_text(wired):
    with pytest.raises(TypeError, match="must be str"):
        list(wired.extract_many([b"bytes"]))


# --- windows ---------------------------------------------------------------------------------------
def test_windows_and_merge_are_those_of_training(short, short_run):
    """The extractor feeds exactly encode_windows' windows (in length-sorted, padded batches)
    and each word takes its label from its most central window: the same as running every
    window alone and merging with windows.merge_windows."""
    from transformers import AutoModelForTokenClassification

    text = seed_text(0)
    words = tokenize(text)
    windows = encode_windows(short.predictor.tokenizer, [w.text for w in words], 48, 12)
    assert len(windows) > 20

    fed = []
    inner = short.predictor.forward

    def spy(ids, mask):
        fed.extend(tuple(row[m.astype(bool)]) for row, m in zip(ids, mask, strict=True))
        assert ids.shape[0] <= 3 and ids.shape[1] <= 48
        return inner(ids, mask)

    short.predictor.forward = spy
    try:
        art = short.extract(text)
    finally:
        short.predictor.forward = inner
    assert sorted(fed) == sorted(tuple(w.input_ids) for w in windows)

    model = AutoModelForTokenClassification.from_pretrained(short_run).eval()
    with torch.inference_mode():
        logits = [model(input_ids=torch.tensor([w.input_ids])).logits[0].numpy() for w in windows]
    scores, covered = merge_windows(windows, logits, len(words), len(bio_tags()))
    assert covered.all()
    # The product's decoding: stray I-X opens a span, punctuation is trimmed from span edges.
    from indoevent.text.iob import clean_tags

    reference = clean_tags([bio_tags()[i] for i in scores.argmax(-1)], [w.text for w in words])
    got, misaligned = spans_to_tags(words, art.spans)
    assert not misaligned
    # Decoding turns a stray I-X into a span start; compare span structure, not B/I spelling.
    from indoevent.text.iob import tags_to_word_spans

    assert tags_to_word_spans(got) == tags_to_word_spans(reference)


def test_long_article_nothing_truncated(base, tmp_path):
    run = init_run(base, tmp_path / "wired48", max_length=48, overlap=12, wire=WIRE)
    ex = Extractor.from_pretrained(run, device="cpu")
    text = "\n".join(seed_text(i) for i in range(len(SEEDS))) + "\nAkhirnya Putin."
    art = ex.extract(text)
    assert art.stats["windows"] > 50
    assert [(s.text, s.label) for s in art.spans] == expected_wired(text, ex.predictor.tokenizer)
    assert art.entities[-1].text == "Putin" and art.entities[-1].end == len(text) - 1


@pytest.mark.slow
def test_half_a_million_characters_in_bounded_memory(base, tmp_path):
    """A 500,000-character article: every word gets a prediction (the very last too), and the
    model never sees more than one batch of windows at a time."""
    run = init_run(base, tmp_path / "wired128", max_length=128, overlap=16, wire=WIRE)
    ex = Extractor.from_pretrained(run, device="cpu", batch_size=16)
    unit = seed_text(0) + "\n"
    text = (unit * (500_000 // len(unit) + 1))[: 500_000 - 15] + " akhirnya Putin"
    assert len(text) == 500_000
    shapes = []
    inner = ex.predictor.forward

    def spy(ids, mask):
        shapes.append(ids.shape)
        return inner(ids, mask)

    ex.predictor.forward = spy
    art = ex.extract(text)
    assert max(s[0] for s in shapes) <= 16 and max(s[1] for s in shapes) <= 128
    assert sum(s[0] for s in shapes) == art.stats["windows"] > 500
    n_putin = sum(w.text.lower() == "putin" for w in tokenize(text))
    assert sum(s.text == "Putin" for s in art.entities) == n_putin
    assert art.entities[-1].end == len(text)


# --- batching ----------------------------------------------------------------------------------------
def test_extract_many_is_lazy_ordered_and_chunking_free(short):
    texts = [seed_text(i)[: 300 * (i + 1)] for i in range(len(SEEDS))] + ["Putin."]
    pulled = []

    def feed():
        for t in texts:
            pulled.append(t)
            yield t

    ids = [f"a{i}" for i in range(len(texts))]
    short.predictor.sort_windows = 4  # a few windows at a time
    try:
        it = short.extract_many(feed(), ids=ids)
        first = next(it)
        assert len(pulled) < len(texts)  # results come before all input is read
        small_chunks = [first] + list(it)
    finally:
        short.predictor.sort_windows = 1000
    big_chunk = list(short.extract_many(texts, ids=ids))
    assert [a.id for a in small_chunks] == ids == [a.id for a in big_chunk]
    for a, b in zip(small_chunks, big_chunk, strict=True):
        assert [(s.start, s.end, s.label) for s in a.spans] == [(s.start, s.end, s.label) for s in b.spans]
    assert [a.text for a in big_chunk] == texts


def test_batches_are_length_sorted_with_little_padding(short):
    texts = [seed_text(i) for i in range(len(SEEDS))]
    short.stats.padded_tokens = short.stats.tokens = 0
    list(short.extract_many(texts, batch_size=8))
    assert short.stats.padded_tokens <= 1.12 * short.stats.tokens


# --- frames and formats ------------------------------------------------------------------------------
def test_frames_from_the_linker(wired):
    art = wired.extract("Putin bertemu dengan Kim Jong Un di Beijing pada Rabu. Rusia menolak.", id="f")
    assert len(art.events) == 1
    f = art.events[0]
    assert f.type == "CONSULT" and f.trigger.text == "bertemu"
    assert {role: [s.text for s in spans] for role, spans in f.arguments.items()} == \
        {"actor": ["Putin"], "recipient": ["Kim Jong Un"], "place": ["Beijing"], "time": ["Rabu"]}
    d = json.loads(json.dumps(art.to_dict()))
    assert d["events"][0]["arguments"]["place"][0]["text"] == "Beijing"
    assert {r.role for r in art.relations()} == {"actor", "recipient", "place", "time"}


def test_no_linker(wired_run):
    ex = Extractor.from_pretrained(wired_run, device="cpu", linker=None)
    art = ex.extract("Putin bertemu Kim.")
    assert art.events and all(f.arguments == {} for f in art.events)


def test_label_studio_task_passes_the_project_validator(wired, tmp_path):
    """The prediction, turned into an annotation, reads back through lsexport.read_export with
    no problem: offsets, labels, control names, relations (emoji and CRLF included)."""
    art = wired.extract(ODD + " Putin bertemu Kim di Beijing pada Rabu.", id="odd-1")
    task = art.to_label_studio("tiny-v1", {"source": "x.txt"})
    pred = task["predictions"][0]
    assert pred["model_version"] == "tiny-v1" and 0 < pred["score"] <= 1
    assert all("score" in r for r in pred["result"] if r["type"] == "labels")
    assert any(r["type"] == "relation" for r in pred["result"])
    annotated = {**task, "id": 1, "annotations": [{"id": 1, "result": pred["result"]}]}
    path = tmp_path / "export.json"
    path.write_text(json.dumps([annotated], ensure_ascii=False), encoding="utf-8")
    got = read_export(path)
    assert got.problems == [] and got.warnings == []
    (doc,) = got.documents
    assert doc.doc_id == "odd-1" and doc.text == art.text
    assert [(s.start, s.end, s.label) for s in doc.spans] == [(s.start, s.end, s.label) for s in art.spans]
    assert {(r.trigger_id, r.entity_id, r.role) for r in doc.relations} == \
        {(r.trigger_id, r.entity_id, r.role) for r in art.relations()}


# --- the pipeline's spans ------------------------------------------------------------------------------
def test_same_spans_as_the_hf_pipeline_in_one_window(wired, wired_run):
    """On an article that fits one window, the extractor finds exactly the spans of
    pipeline("token-classification", aggregation_strategy="first"), except at words that we
    keep whole and BERT's pre-tokenizer splits ("Jong-un", "10.000"): we label the word by its
    first sub-word, as in training; the pipeline labels each piece. The wired head is
    context-free, so the clitic -nya, which our words split off as in training, changes nothing."""
    import re

    from transformers import pipeline

    pipe = pipeline("token-classification", model=str(wired_run), aggregation_strategy="first", device=-1)
    texts = [seed_text(0)[:1500], "Kim Jong Un bertemu Putin di Beijing, Rabu.", seed_text(3)[:2000]]
    n_split_differently = 0
    for text in texts:
        assert len(wired.predictor.tokenizer(text)["input_ids"]) <= 512
        ours = {(s.start, s.end, s.label) for s in wired.extract(text).spans}
        theirs = {(int(e["start"]), int(e["end"]), e["entity_group"]) for e in pipe(text)}
        assert ours
        split = [(w.start, w.end) for w in tokenize(text) if len(re.findall(r"\w+|[^\w\s]", w.text)) > 1]
        for a, b, _ in ours ^ theirs:
            assert any(x < b and a < y for x, y in split), (text[a:b], a, b)
            n_split_differently += 1
        if text is not texts[-1]:
            assert ours == theirs
    assert n_split_differently > 0  # seed 3 has "Kim Jong-un": the test sees the case it describes


# --- loading ---------------------------------------------------------------------------------------------
def test_bad_options(wired_run, base):
    from transformers import AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(wired_run)
    with pytest.raises(ValueError, match="needs a GPU"):
        TorchForward(model, "cpu", "fp16")  # bf16 on CPU: tests/test_runtime.py
    with pytest.raises(ValueError, match="precision"):
        TorchForward(model, "cpu", "fp8")
    with pytest.raises(ValueError, match="quantize"):
        Extractor.from_pretrained(wired_run, quantize="int4")
    with pytest.raises(ValueError, match="runtime"):
        Extractor.from_pretrained(wired_run, runtime="tensorrt")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no GPU"):
            Extractor.from_pretrained(wired_run, device="cuda")


def test_plain_checkpoint_warns_and_uses_default_windows(base, tmp_path):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tags = bio_tags()
    model = AutoModelForTokenClassification.from_pretrained(base, id2label=dict(enumerate(tags)),
                                                            label2id={t: i for i, t in enumerate(tags)})
    model.save_pretrained(tmp_path / "plain")
    AutoTokenizer.from_pretrained(base).save_pretrained(tmp_path / "plain")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ex = Extractor.from_pretrained(tmp_path / "plain", device="cpu")
    assert any("run metadata" in str(w.message) for w in caught)
    assert (ex.predictor.max_length, ex.predictor.overlap) == (512, 64) and ex.name == "plain"


def test_import_indoevent_does_not_import_torch():
    code = "import sys, indoevent; assert 'torch' not in sys.modules, 'torch imported'; " \
           "from indoevent import Extractor; print(Extractor.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Extractor"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the GPU machine)")
@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_gpu_gives_the_cpu_spans(wired_run, wired, precision):
    gpu = Extractor.from_pretrained(wired_run, device="cuda", precision=precision)
    texts = [seed_text(i) for i in range(len(SEEDS))] + [ODD]
    for a, b in zip(gpu.extract_many(texts), wired.extract_many(texts), strict=True):
        assert [(s.start, s.end, s.label) for s in a.spans] == [(s.start, s.end, s.label) for s in b.spans]
    assert np.isfinite(gpu.stats.forward_seconds)


# --- end to end with training ---------------------------------------------------------------------------
@pytest.mark.slow
def test_train_then_extract(tiny_run):
    """A run written by `indoevent.model.train` (tiny, a few steps) loads and extracts with the
    windows it was trained with."""
    run = tiny_run
    meta = json.loads((run / "config.json").read_text())["indoevent"]
    ex = Extractor.from_pretrained(run, device="cpu")
    assert (ex.predictor.max_length, ex.predictor.overlap) == (meta["max_length"], meta["overlap"]) == (128, 32)
    assert ex.predictor.labels == bio_tags() and ex.name == meta["run_name"]
    text = seed_text(0)
    art = ex.extract(text, id="seed0")
    check_offsets(text, art)
    assert art.stats["windows"] == len(encode_windows(ex.predictor.tokenizer, [w.text for w in tokenize(text)], 128, 32))


def test_the_learned_linker_is_the_default_and_the_rules_selectable(wired_run, wired):
    from indoevent.events.learned_linker import LearnedLinker
    from indoevent.events.linking import link_rules

    assert isinstance(wired.linker, LearnedLinker)  # no RUN/linker.json: the shipped one
    assert Extractor.from_pretrained(wired_run, device="cpu", linker="rules").linker is link_rules
    with pytest.raises(ValueError, match="'learned'.*auto, rules"):
        Extractor.from_pretrained(wired_run, device="cpu", linker="learned")


def test_run_with_a_learned_linker_uses_it(wired_run, tmp_path):
    import shutil

    from indoevent.events.learned_linker import LearnedLinker, fit_linker

    run = Path(shutil.copytree(wired_run, tmp_path / "with_linker"))
    gold = read_export(ROOT / "annotations" / "seeds.json").documents
    (run / "linker.json").write_text(json.dumps(fit_linker(gold).to_json()))
    ex = Extractor.from_pretrained(run, device="cpu")
    assert isinstance(ex.linker, LearnedLinker)
    art = ex.extract("Putin bertemu dengan Kim di Beijing pada Rabu.")
    assert art.events and set(art.events[0].arguments) <= {"actor", "recipient", "place", "time"}


def test_a_run_without_its_tokenizer_is_refused(wired_run, tmp_path, capsys):
    """Without tokenizer.json transformers builds a 5-token vocabulary: every word [UNK], no error."""
    import shutil

    from indoevent.cli import main

    broken = tmp_path / "no-tokenizer"
    shutil.copytree(wired_run, broken)
    (broken / "tokenizer.json").unlink()
    with pytest.raises(ValueError, match=f"{broken}: the tokenizer has 5 tokens but the model's embeddings"):
        Extractor.from_pretrained(broken, device="cpu")
    src = tmp_path / "a.txt"
    src.write_bytes(SEEDS[0].read_bytes())
    assert main(["extract", str(src), "--model", str(broken), "--out", str(tmp_path / "r.jsonl"),
                 "--no-progress"]) == 1
    err = [x for x in capsys.readouterr().err.splitlines() if x.startswith("indoevent: error:")]
    assert len(err) == 1 and err[0].startswith(f"indoevent: error: {broken}: the tokenizer has 5 tokens")
    assert not (tmp_path / "r.jsonl").exists()


def test_model_version_covers_the_tokenizer(wired, wired_run, tmp_path):
    """Same weights, another tokenizer (no lower-casing): another model, another version."""
    import shutil

    other = tmp_path / "wired"  # the same run name
    shutil.copytree(wired_run, other)
    tok = json.loads((other / "tokenizer.json").read_text(encoding="utf-8"))
    assert tok["normalizer"]["lowercase"] is True
    tok["normalizer"]["lowercase"] = False
    (other / "tokenizer.json").write_text(json.dumps(tok), encoding="utf-8")
    cfg = json.loads((other / "tokenizer_config.json").read_text(encoding="utf-8"))
    (other / "tokenizer_config.json").write_text(json.dumps({**cfg, "do_lower_case": False}), encoding="utf-8")
    ex = Extractor.from_pretrained(other, device="cpu")
    assert (other / "model.safetensors").read_bytes() == (wired_run / "model.safetensors").read_bytes()
    assert ex.name == wired.name and ex.version != wired.version
    # It does change what runs.
    assert ex.predictor.tokenizer("Putin")["input_ids"] != wired.predictor.tokenizer("Putin")["input_ids"]
    assert Extractor.from_pretrained(wired_run, device="cpu").version == wired.version  # and is stable
