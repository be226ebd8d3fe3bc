"""The unlabelled corpus recipe (issue 17 step 2) on a tiny fake source folder, and the committed sample."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from indoevent.text.inputs import Source, read_inputs
from indoevent.text.unlabelled import build_corpus, heldout_texts, licence_table, sentence_keys
from indoevent.text.unlabelled_sources import select

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "training" / "unlabelled" / "sample.jsonl"
TOOL = ROOT.parent / "shared" / "tools" / "not_heldout.py"

HELD_OUT = "Presiden Prabowo tiba di Beijing pada Senin pagi. Baca juga: Xi. Ia disambut Xi Jinping."
NERP = {  # CoNLL sentences (word, tag) per split; lowercased and tokenised as IndoNLU's NERP is
    "train": ["warga jakarta memadati monas , minggu ( 13 / 8 ) .", "harga beras naik lagi pekan ini ."],
    # a duplicate of train's first sentence; a held-out sentence, tokenised and lowercased; "Baca juga: Xi."
    # (too short to count) in a chunk of its own
    "valid": ["warga jakarta memadati monas , minggu ( 13 / 8 ) .",
              "presiden prabowo tiba di beijing pada senin pagi ."],
    "test": ["baca juga : xi ."],
}
PUD = """# newdoc id = n01001
# sent_id = n01001011
# text = Harga beras naik lagi pekan ini.
1\tHarga\t_

# sent_id = n01001012
# text = Pemerintah menyiapkan operasi pasar di Surabaya.
1\tPemerintah\t_

# sent_id = w01002003
# text = Danau Toba terletak di Sumatera Utara.
1\tDanau\t_

"""


def fake_sources(root: Path) -> Path:
    nerp = root / "indonlu" / "dataset" / "nerp_ner-prosa"
    nerp.mkdir(parents=True)
    for split, sents in NERP.items():
        text = "\n".join("\n".join(f"{w}\tO" for w in s.split()) + "\n" for s in sents)
        (nerp / f"{split}_preprocess.txt").write_text(text, encoding="utf-8")
    (root / "UD_Indonesian-PUD").mkdir()
    (root / "UD_Indonesian-PUD" / "id_pud-ud-test.conllu").write_text(PUD, encoding="utf-8")
    return root


def test_dedup_groups_and_excludes_held_out_documents(tmp_path):
    # chunk_words=1: every NERP sentence is a chunk of its own, so an exclusion takes only its own
    built = build_corpus(select(["indonlu-nerp", "ud-pud"]), fake_sources(tmp_path), {"art-1": HELD_OUT},
                         chunk_words=1)
    texts = [d.text for d in built.docs]
    assert "warga jakarta memadati monas, minggu (13 / 8)." in texts  # detokenised, kept once
    assert sum("memadati monas" in t for t in texts) == 1
    assert not any("prabowo" in t for t in texts)
    assert [(e.article, e.sentence) for e in built.excluded] == [("art-1", "presiden prabowo tiba di beijing pada senin pagi.")]
    assert "baca juga: xi." in texts  # a held-out sentence under MIN_WORDS words does not exclude
    nerp, pud = built.stats
    assert (nerp.read, nerp.duplicates, nerp.excluded_docs, nerp.documents) == (5, 1, 1, 3)
    # PUD: its first sentence is NERP's (other case, other spacing): dropped; the rest grouped by story
    assert pud.duplicates == 1
    assert {d.id: d.sentences for d in built.docs if d.source == "ud-pud"} == {
        "ud-pud/n01001": ["Pemerintah menyiapkan operasi pasar di Surabaya."],
        "ud-pud/w01002": ["Danau Toba terletak di Sumatera Utara."]}
    assert built.words == sum(s.words for s in built.stats) == 7 + 6 + 3 + 6 + 6


def test_licence_table_lists_every_source_with_its_counts(tmp_path):
    built = build_corpus(select(["indonlu-nerp", "ud-pud"]), fake_sources(tmp_path), {})
    table = licence_table(built.stats).splitlines()
    assert table[0].startswith("| source | domain | licence | URL | sentences | words |")
    nerp = next(r for r in table if r.startswith("| indonlu-nerp |"))
    pud = next(r for r in table if r.startswith("| ud-pud |"))
    assert "Apache-2.0" in nerp and "github.com/IndoNLP/indonlu" in nerp
    assert "CC BY-SA 3.0" in pud and "UD_Indonesian-PUD" in pud
    assert table[-1].split("|")[6].strip() == f"{built.words:,}"


def test_missing_source_file_is_named_or_listed(tmp_path):
    root = fake_sources(tmp_path)
    (root / "indonlu" / "dataset" / "nerp_ner-prosa" / "test_preprocess.txt").unlink()
    with pytest.raises(FileNotFoundError, match="test_preprocess.txt.*indonlu-nerp"):
        build_corpus(select(["indonlu-nerp"]), root, {})
    built = build_corpus(select(["indonlu-nerp"]), root, {}, missing_ok=True)
    assert built.stats[0].missing == [str(root / "indonlu/dataset/nerp_ner-prosa/test_preprocess.txt")]
    with pytest.raises(ValueError, match="unknown source 'nerpp'"):
        select(["nerpp"])


def test_heldout_texts_reads_dev_and_test_and_names_a_missing_article(tmp_path):
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("dev", encoding="utf-8")
    (tmp_path / "texts" / "c.txt").write_text("test", encoding="utf-8")
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps({"train": ["b"], "dev": ["a"], "test": ["c"]}), encoding="utf-8")
    assert heldout_texts(splits, [tmp_path / "texts"]) == {"a": "dev", "c": "test"}
    splits.write_text(json.dumps({"train": [], "dev": ["a"], "test": ["z"]}), encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="'z'"):
        heldout_texts(splits, [tmp_path / "texts"])


def _script():
    spec = importlib.util.spec_from_file_location("build_unlabelled", ROOT / "training" / "unlabelled" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_writes_corpus_report_and_sample_and_keeps_the_output_rule(tmp_path, capsys):
    build = _script()
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "art-1.txt").write_text(HELD_OUT, encoding="utf-8")
    (tmp_path / "splits.json").write_text(json.dumps({"train": [], "dev": ["art-1"], "test": []}))
    out, smp = tmp_path / "out" / "corpus.jsonl", tmp_path / "sample.jsonl"
    args = ["--sources", str(fake_sources(tmp_path / "src")), "--only", "indonlu-nerp", "ud-pud", "--out", str(out),
            "--splits", str(tmp_path / "splits.json"), "--texts", str(tmp_path / "texts"), "--chunk-words", "1",
            "--sample", str(smp), "--sample-bytes", "300",
            "--not-heldout", str(TOOL) if TOOL.is_file() else "none"]
    assert build.main(args) == 0
    items = list(read_inputs([out]))
    assert all(isinstance(s, Source) for s in items) and len(items) == 5
    assert {s.meta["licence"] for s in items} == {"Apache-2.0", "CC BY-SA 3.0"}
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert report["excluded"][0]["article"] == "art-1" and report["heldout_articles"] == ["art-1"]
    assert 0 < smp.stat().st_size <= 300
    assert build.main(args) == 1  # exists: --overwrite needed
    assert "--overwrite" in capsys.readouterr().err
    assert build.main([*args, "--overwrite"]) == 0
    (tmp_path / "notes.txt").write_text("mine")
    assert build.main([*args[:6], str(tmp_path / "notes.txt"), *args[7:], "--overwrite"]) == 1  # never replaced


def test_committed_sample_is_small_readable_and_holds_no_dev_or_test_sentence():
    assert SAMPLE.stat().st_size <= 100_000
    items = list(read_inputs([SAMPLE]))
    assert items and all(isinstance(s, Source) for s in items), [str(e) for e in items if not isinstance(e, Source)]
    assert all(s.meta.get("source") and s.meta.get("licence") for s in items)
    held = heldout_texts(ROOT / "annotations/corpus/splits.json", [ROOT / "annotations/corpus/texts", ROOT / "seeds"])
    banned = {k for t in held.values() for k in sentence_keys(t)}
    assert len(banned) > 100
    assert not [s.id for s in items if banned & set(sentence_keys(s.text))]


@pytest.mark.skipif(not TOOL.is_file(), reason="the shared held-out check is not beside this checkout")
def test_committed_sample_passes_the_held_out_check():
    run = subprocess.run([sys.executable, str(TOOL), str(SAMPLE)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout
