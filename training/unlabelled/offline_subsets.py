"""The unlabelled text of the offline recipe's experiments (training/README.md, "The best offline recipe"),
cut from the unlabelled corpus (``data/unlabelled/corpus.jsonl``, built by ``build.py``) and the gold texts:

* ``data/pretrain/news.jsonl``: the news-like chunks (IndoNLU NERP, POS, NERGrit; the UD treebanks), 2,272
  chunks, about 514,000 words: the masked-LM text of ``training/configs/pretrain-offline.yaml``;
* ``data/pretrain/train-texts.jsonl``: the texts of the seeds and of the corpus' **train** articles
  (annotations/corpus/splits.json; never dev or test), also pretrained on;
* ``data/pretrain/self-train-200.jsonl``: every 11th chunk of news.jsonl (207 chunks, 46,802 words), the
  unlabelled text of self-training and distillation.

    python training/unlabelled/offline_subsets.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEWS_LIKE = ("indonlu-nerp", "indonlu-bapos", "indonlu-nergrit", "ud-")


def main() -> int:
    out = ROOT / "data" / "pretrain"
    out.mkdir(parents=True, exist_ok=True)
    corpus = (ROOT / "data" / "unlabelled" / "corpus.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    news = [line for line in corpus if line.strip() and json.loads(line)["id"].startswith(NEWS_LIKE)]
    (out / "news.jsonl").write_text("".join(news), encoding="utf-8")
    (out / "self-train-200.jsonl").write_text("".join(news[::11]), encoding="utf-8")
    train = json.loads((ROOT / "annotations" / "corpus" / "splits.json").read_text(encoding="utf-8"))["train"]
    rows = [{"id": "seeds/" + p.stem, "text": p.read_text(encoding="utf-8")} for p in sorted((ROOT / "seeds").glob("*.txt"))]
    texts = ROOT / "annotations" / "corpus" / "texts"
    rows += [{"id": "corpus/" + i, "text": (texts / f"{i}.txt").read_text(encoding="utf-8")}
             for i in train if (texts / f"{i}.txt").exists()]
    (out / "train-texts.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                           encoding="utf-8")
    print(f"{len(news)} news-like chunks, {len(news[::11])} for self-training, {len(rows)} train texts -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
