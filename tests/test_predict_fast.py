"""The prediction path's fast parts give what the plain path gives: remembered sub-words
(``WordPieces``), windows planned by binary search, picks and span decoding on arrays, the
broadcast padding mask and larger CPU batches.

The reference here is the plain path written out: one tokenizer call per article, the windows
cut by the original word-by-word loops, every window run alone through the model (no padding, no
mask), each word taken from its most central window, ``clean_tags`` then ``tags_to_word_spans``.
Spans, offsets and ids must be equal, probabilities within 1e-6 (batching changes the last bits).
"""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="prediction needs torch")

from indoevent.model.distill import prune_feed_forward, student_from_teacher  # noqa: E402
from indoevent.model.predict import Predictor  # noqa: E402
from indoevent.model.windows import Window, WordPieces, encode_windows, special_tokens  # noqa: E402
from indoevent.schema import is_trigger  # noqa: E402
from indoevent.text.iob import clean_tags, clean_word_spans, tags_to_word_spans  # noqa: E402
from indoevent.text.tokenize import tokenize  # noqa: E402
from scaffold import init_run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED = sorted((ROOT / "seeds").glob("*.txt"))[0]
# Articles that have broken fast paths elsewhere: nothing, blanks, characters the tokenizer drops
# (a word with no sub-word), emoji and combining marks, one word longer than a window, repeats.
EDGE = ["", "   \r\n\t", ".", "\u200b", "Jokowi \u200b bertemu", "😀", "e\u0301 Jokowi 👍🏽 bertemu 🇮🇩 Prabowo, \u0301",
        "a" * 400, "Presiden " * 60 + "Jokowi.", "Kim-Xi anti-Amerika perangnya besar-besaran Jum'at 10.000 (S.H.)",
        "🙂" * 50 + " Jakarta"]


def texts() -> list[str]:
    seed = SEED.read_text(encoding="utf-8")
    return EDGE + [seed, seed[: len(seed) // 2] * 2]


# --- the plain path, written out -------------------------------------------------------------------
def plain_windows(tokenizer, words: list[str], max_length: int, overlap: int) -> list[Window]:
    """``encode_windows`` as it was before the fast path: one tokenizer call, word-by-word loops."""
    prefix, suffix = special_tokens(tokenizer)
    enc = tokenizer(list(words), is_split_into_words=True, add_special_tokens=False)
    ids, wids = enc["input_ids"], enc.word_ids()
    counts, first_pos = [0] * len(words), [0] * (len(words) + 1)
    for pos in range(len(wids) - 1, -1, -1):
        counts[wids[pos]] += 1
        first_pos[wids[pos]] = pos
    first_pos[len(words)] = len(ids)
    for w in range(len(words) - 1, -1, -1):
        if counts[w] == 0:
            first_pos[w] = first_pos[w + 1]
    budget = max_length - len(prefix) - len(suffix)
    windows = []
    for a, b in plain_plan(counts, budget, overlap):
        lo, hi = first_pos[a], min(first_pos[b], first_pos[a] + budget)
        windows.append(Window(a, b, prefix + list(ids[lo:hi]) + suffix,
                              [None] * len(prefix) + list(wids[lo:hi]) + [None] * len(suffix)))
    return windows


def plain_plan(counts: list[int], budget: int, overlap: int) -> list[tuple[int, int]]:
    n, ranges, start = len(counts), [], 0
    while start < n:
        end, total = start, 0
        while end < n and total + counts[end] <= budget:
            total += counts[end]
            end += 1
        end = max(end, start + 1)
        ranges.append((start, end))
        if end >= n:
            break
        nxt, shared = end, 0
        while nxt - 1 > start and shared + counts[nxt - 1] <= overlap:
            nxt -= 1
            shared += counts[nxt]
        start = nxt
    return ranges


def plain_best(windows: list[Window], n_words: int) -> list[int]:
    best, margin = [-1] * n_words, [-1] * n_words
    for k, w in enumerate(windows):
        for i in range(w.first_word, w.last_word):
            m = min(i - w.first_word, w.last_word - 1 - i)
            if m > margin[i]:
                best[i], margin[i] = k, m
    return best


def plain_predict(model, tokenizer, labels: list[str], text: str, max_length: int, overlap: int):
    """``(spans, article score)``: spans as ``(start, end, label, text, id, score)``."""
    words = tokenize(text)
    windows = plain_windows(tokenizer, [w.text for w in words], max_length, overlap) if words else []
    best = plain_best(windows, len(words))
    tag = np.full(len(words), -1)
    prob = np.zeros(len(words), dtype=np.float32)
    for k, w in enumerate(windows):
        with torch.inference_mode():
            p = model(input_ids=torch.tensor([w.input_ids])).logits[0].float().softmax(-1)
        for pos, word in w.first_subword_positions():
            if best[word] == k:
                prob[word], tag[word] = p[pos].max().item(), int(p[pos].argmax())
    tags = clean_tags([labels[t] if t >= 0 else "O" for t in tag], [w.text for w in words])
    spans, counter = [], {True: 0, False: 0}
    for i, j, label in tags_to_word_spans(tags):
        a, b = words[i].start, words[j - 1].end
        counter[is_trigger(label)] += 1
        spans.append((a, b, label, text[a:b], f"{'t' if is_trigger(label) else 'e'}{counter[is_trigger(label)]}",
                      float(prob[i:j].mean())))
    covered = tag >= 0
    return sorted(spans), (float(prob[covered].mean()) if covered.any() else None)


@pytest.fixture(scope="module")
def short_run(base, tmp_path_factory) -> Path:
    """Untrained head (its tags vary from word to word: every decoding rule gets used), windows of 24
    sub-words overlapping by 6: the seed article spans many windows."""
    return init_run(base, tmp_path_factory.mktemp("fast") / "short", max_length=24, overlap=6, seed=3)


@pytest.fixture(scope="module")
def expected(short_run) -> list:
    """The plain path's predictions of :func:`texts`."""
    from transformers import AutoModelForTokenClassification

    p = Predictor.from_pretrained(short_run, device="cpu", precision="fp32", runtime="torch")
    model = AutoModelForTokenClassification.from_pretrained(short_run).eval()
    return [plain_predict(model, p.tokenizer, p.labels, t, p.max_length, p.overlap) for t in texts()]


# --- the tests --------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_size", [None, 3])
def test_predictions_equal_the_plain_path(short_run, expected, batch_size):
    p = Predictor.from_pretrained(short_run, device="cpu", precision="fp32", runtime="torch", batch_size=batch_size)
    assert p.pieces.memo is not None and p.forward.key_mask  # the fast parts are on for a BERT run
    for _ in range(2):  # the second time every word's sub-words come from memory
        got = list(p.predict_many(texts()))
        assert sum(len(x.spans) for x in got) > 20
        for text, x, (spans, score) in zip(texts(), got, expected, strict=True):
            assert [(s.start, s.end, s.label, s.text, s.id) for s in x.spans] == [s[:5] for s in spans], text[:40]
            assert np.allclose([s.score for s in x.spans], [s[5] for s in spans], rtol=0, atol=1e-6)
            assert (x.score is None) == (score is None) and (score is None or abs(x.score - score) <= 1e-6)
            assert x.stats["windows"] == len(plain_windows(p.tokenizer, [w.text for w in tokenize(text)], 24, 6)) \
                if text.strip() else x.stats["windows"] == 0


def test_windows_equal_the_plain_windows(short_run):
    tok = Predictor.from_pretrained(short_run, device="cpu", runtime="torch").tokenizer
    pieces = WordPieces(tok)
    for text in texts():
        words = [w.text for w in tokenize(text)]
        for max_length, overlap in ((24, 6), (12, 0), (8, 5), (512, 64)):
            plain = plain_windows(tok, words, max_length, overlap) if words else []
            assert encode_windows(tok, words, max_length, overlap, pieces=pieces) == plain
            assert encode_windows(tok, words, max_length, overlap) == plain


def test_plan_and_best_window_equal_the_loops():
    from indoevent.model.windows import best_window, plan_windows

    rng = random.Random(7)
    for _ in range(300):
        counts = [rng.choice([0, 1, 1, 2, 3, 7]) for _ in range(rng.randint(1, 60))]
        budget = rng.randint(1, 12)
        overlap = rng.randint(0, budget - 1)
        ranges = plan_windows(counts, budget, overlap)
        assert ranges == plain_plan(counts, budget, overlap)
        windows = [Window(a, b, [], []) for a, b in ranges]
        assert best_window(windows, len(counts)) == plain_best(windows, len(counts))


def test_word_pieces_are_the_tokenizers(short_run):
    tok = Predictor.from_pretrained(short_run, device="cpu", runtime="torch").tokenizer
    pieces = WordPieces(tok, max_words=40)
    for text in texts() * 2:  # the second round from memory; max_words=40 forces it to start afresh
        words = [w.text for w in tokenize(text)]
        if not words:
            continue
        enc = tok(words, is_split_into_words=True, add_special_tokens=False)
        ids, wids = pieces.encode(words)
        assert ids.tolist() == enc["input_ids"] and wids.tolist() == enc.word_ids()
        assert len(pieces.memo) <= 40 + len(set(words))


class FirstWordMarked:
    """A tokenizer whose first word gets another id (as SentencePiece's Metaspace marks it): a word's
    sub-words depend on where it stands, so they must not be remembered."""

    is_fast = True

    def __call__(self, words, is_split_into_words, add_special_tokens):
        ids = [(1000 if i == 0 else 0) + sum(map(ord, w)) % 997 for i, w in enumerate(words)]

        class Encoding(dict):
            def word_ids(self):
                return list(range(len(words)))

        return Encoding(input_ids=ids)


def test_word_pieces_not_remembered_where_position_matters():
    pieces = WordPieces(FirstWordMarked())
    assert pieces.memo is None
    ids, wids = pieces.encode(["Jokowi", "bertemu", "Jokowi"])
    assert ids.tolist() == FirstWordMarked()(["Jokowi", "bertemu", "Jokowi"], True, False)["input_ids"]
    assert ids[0] != ids[2] and wids.tolist() == [0, 1, 2]


def test_clean_word_spans_is_clean_tags():
    """Random tags over words with brackets and punctuation: the span-level rule gives what the
    tag-level rule gives, and from a mapping holding only the spans' words too."""
    rng = random.Random(11)
    vocab = ["Joko", "(", ")", ",", "“", "”", "4", "Rabu", ".", "-", "Kim"]
    tags = ["O", "B-PER", "I-PER", "I-DATE", "B-DATE", "B-CONSULT", "I-CONSULT"]
    for _ in range(500):
        words = [rng.choice(vocab) for _ in range(rng.randint(0, 12))]
        seq = [rng.choice(tags) for _ in words]
        spans = tags_to_word_spans(seq)
        cleaned = clean_word_spans(spans, words)
        assert cleaned == tags_to_word_spans(clean_tags(seq, words))
        only = {k: words[k] for i, j, _ in spans for k in range(i, j)}
        assert clean_word_spans(spans, only) == cleaned
        assert all(not all(unicodedata.category(c)[0] in "PS" for c in words[i]) for i, _, _ in cleaned)


def test_pruned_student_keeps_the_strongest_units(short_run):
    from transformers import AutoModelForTokenClassification

    teacher = AutoModelForTokenClassification.from_pretrained(short_run).eval()
    width = teacher.config.intermediate_size
    full = student_from_teacher(teacher, teacher.config.num_hidden_layers, width).eval()
    ids = torch.tensor([[2, 50, 60, 70, 3]])
    with torch.inference_mode():  # the teacher's own width: the teacher itself
        assert torch.equal(full(input_ids=ids).logits, teacher(input_ids=ids).logits)
    student = student_from_teacher(teacher, 1, width // 4)
    assert student.config.intermediate_size == width // 4 and student.config.num_hidden_layers == 1
    state = teacher.state_dict()
    key = next(k for k in state if k.endswith("layer.0.intermediate.dense.weight"))
    out_key = key.replace("intermediate.dense.weight", "output.dense.weight")
    strength = state[key].norm(dim=1) * state[out_key].norm(dim=0)
    kept = sorted(strength.topk(width // 4).indices.tolist())
    assert torch.equal(student.state_dict()[key], state[key][kept])
    assert torch.equal(student.state_dict()[out_key], state[out_key][:, kept])
    assert prune_feed_forward({"x": state[key]}, 4)["x"] is state[key]  # no layer naming: left alone
    from indoevent.model.config import ConfigError

    with pytest.raises(ConfigError, match="intermediate_size"):
        student_from_teacher(teacher, 1, width + 1)
