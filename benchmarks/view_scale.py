"""The view at scale: a synthetic corpus of 2,000 articles and 20,000 frames, merged by
``indoevent merge``'s function, written by ``indoevent view``'s; prints the file's size and how
long headless Chromium takes to show it (targets: under 30 MB, first render under 5 s on 2 cores).

    python benchmarks/view_scale.py [--articles 2000] [--frames-per-article 10] [--filler 1] [--out DIR]

Three times are printed: the page's own (``data-first-render-ms``: navigation start to the end of
the first render, reading the file and parsing the embedded JSON included), and the wall times of
``chromium --screenshot`` of the view and of an empty page (the browser's own start). The load average before and after says whether the machine was idle.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from indoevent.events.actors import AliasTable
from indoevent.events.mentions import article_of
from indoevent.events.merge import merge
from indoevent.events.merge_files import write_merge
from indoevent.view import build_view

PEOPLE = ["Prabowo Subianto", "Joko Widodo", "Anwar Ibrahim", "Xi Jinping", "Vladimir Putin", "Kim Jong Un",
          "Sri Mulyani", "Retno Marsudi", "Antonio Guterres", "Donald Trump", "Narendra Modi", "Lee Hsien Loong"]
ORGS = ["ASEAN", "PBB", "TNI", "Polri", "KPK", "DPR", "Kementerian Luar Negeri", "WHO"]
PLACES = ["Jakarta", "Beijing", "Moskow", "Kuala Lumpur", "Singapura", "Surabaya", "New Delhi", "Washington"]
VERBS = {"CONSULT": "bertemu", "AGREE": "menyepakati kerja sama dengan", "ACCUSE": "menuduh", "REQUEST": "meminta",
         "SUPPORT": "mendukung", "PROTEST": "memprotes", "AID": "mengirim bantuan kepada", "REJECT": "menolak",
         "THREATEN": "mengancam", "COOPERATE": "bekerja sama dengan"}
FILLER = ("Pernyataan itu disampaikan dalam konferensi pers yang dihadiri puluhan wartawan dari dalam dan luar "
          "negeri. Para pengamat menilai langkah tersebut akan berdampak pada hubungan kedua negara. ")


def synthetic_article(n: int, frames: int, rnd: random.Random, filler: int = 1) -> dict:
    """One article of ``frames`` event sentences (actor, trigger, recipient, place, date), each followed
    by ``filler`` times two sentences of no span (about 2,500 characters at 10 frames and filler 1)."""
    day = f"2025-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
    text, entities, triggers, events = "", [], [], []

    def span(s: str, label: str) -> dict:
        nonlocal text
        d = {"start": len(text), "end": len(text) + len(s), "label": label, "text": s}
        text += s
        return d

    for i in range(frames):
        etype = rnd.choice(list(VERBS))
        who, whom = rnd.sample(PEOPLE + ORGS, 2)
        a = span(who, "PER" if who in PEOPLE else "ORG")
        text += " "
        t = span(VERBS[etype], etype)
        text += " "
        r = span(whom, "PER" if whom in PEOPLE else "ORG")
        text += " di "
        p = span(rnd.choice(PLACES), "GPE")
        text += " pada "
        d = span(f"{int(day[8:]):d}/{int(day[5:7]):d}/2025", "DATE")
        text += ". " + FILLER * filler + ("<script>alert(1)</script> " if n == 0 and i == 0 else "")
        entities += [a, r, p, d]
        t["id"] = f"t{i}"
        triggers.append(t)
        events.append({"type": etype, "trigger": t, "arguments": {"actor": [a], "recipient": [r], "place": [p],
                                                                   "time": [d]}})
    return {"id": f"syn{n:05d}", "text": text, "entities": entities, "triggers": triggers, "events": events,
            "score": None, "model_version": "synthetic", "date": day}


def chromium(*args: str) -> tuple[float, str]:
    """Wall seconds of one headless Chromium run and what it printed."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        sys.exit("no chromium on PATH (apt-get install -y chromium)")
    t0 = time.perf_counter()
    proc = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", *args],
                          capture_output=True, text=True, timeout=300)
    return time.perf_counter() - t0, proc.stdout


def first_render(page: Path, tmp: Path) -> tuple[int | None, float, float]:
    """The page's own first-render milliseconds (from ``--dump-dom``), the wall seconds of a
    screenshot of it, and of a screenshot of an empty page (the browser's start)."""
    _, dom = chromium(f"--user-data-dir={tmp / 'p1'}", "--dump-dom", page.resolve().as_uri())
    found = re.search(r'data-first-render-ms="(\d+)"', dom)
    empty = tmp / "empty.html"
    empty.write_text("<!DOCTYPE html><title>empty</title>", encoding="utf-8")
    start, _ = chromium(f"--user-data-dir={tmp / 'p2'}", f"--screenshot={tmp / 'empty.png'}", empty.as_uri())
    wall, _ = chromium(f"--user-data-dir={tmp / 'p3'}", f"--screenshot={tmp / 'view.png'}", page.resolve().as_uri())
    return int(found.group(1)) if found else None, wall, start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--articles", type=int, default=2000)
    p.add_argument("--frames-per-article", type=int, default=10)
    p.add_argument("--filler", type=int, default=1, help="filler sentence pairs after each frame (2: ~4,400 characters)")
    p.add_argument("--out", type=Path, default=None, help="folder for the results, merge and view (default: a temporary one)")
    args = p.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="view-scale-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPU(s)")
    rnd = random.Random(0)
    records = [synthetic_article(n, args.frames_per_article, rnd, args.filler) for n in range(args.articles)]
    results = out / "results.jsonl"
    results.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    t0 = time.perf_counter()
    merged = merge([article_of(r, f"{results}:{i + 1}") for i, r in enumerate(records)], AliasTable.load())
    write_merge(merged, out / "merged")
    print(f"merge: {len(merged.events)} events from {len(merged.mentions)} mentions in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    report = build_view(results, out / "view.html", merged=out / "merged", overwrite=True)
    print(f"view: {report.counts['articles']} articles, {report.counts['frames']} frames, {report.counts['events']} "
          f"events; written in {time.perf_counter() - t0:.1f} s; {report.bytes / 1e6:.2f} MB (target < 30 MB)")
    ms, wall, start = first_render(report.path, out)
    print(f"chromium: first render {ms} ms after navigation start (target < 5000); a screenshot of the view "
          f"{wall:.1f} s wall, of an empty page {start:.1f} s (the browser's start)")
    print(f"load average after: {os.getloadavg()[0]:.2f}; files in {out}")


if __name__ == "__main__":
    main()
