"""Build the unlabelled Indonesian corpus (id/text JSONL) from clones of public datasets.

The recipe of issue 17 step 2; the work is `indoevent.text.unlabelled` (read, deduplicate, group
into documents, drop every document sharing a sentence with the corpus' dev or test articles), and
this script runs it, then screens the output with the project's held-out check
(../shared/tools/not_heldout.py) and drops what it flags. Needs no network: clone the sources first
(training/unlabelled/README.md). Writes OUT, OUT's report (.report.json: per source counts, every
exclusion and why) and, with --sample, a small sample for CI.

    python training/unlabelled/build.py --sources ~/src --out data/unlabelled/corpus.jsonl
    python training/unlabelled/build.py --sources ~/src --out data/unlabelled/corpus.jsonl --overwrite \\
        --sample training/unlabelled/sample.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from indoevent.atomic import OutputExistsError, check_output, write_text  # noqa: E402
from indoevent.jsonl import JsonlError, read_jsonl  # noqa: E402
from indoevent.text.unlabelled import Built, build_corpus, heldout_texts, licence_table, sample, write_corpus  # noqa: E402
from indoevent.text.unlabelled_sources import SOURCES, select  # noqa: E402

TOOL = ROOT.parent / "shared" / "tools" / "not_heldout.py"
FLAGGED = re.compile(r"^(.*):(\d+): held out \((.*?), (\d+%) of its 8-word runs\)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    names = ", ".join(f"{s.name}{'' if s.default else ' (off by default)'}" for s in SOURCES)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=f"sources: {names}",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=Path, required=True,
                    help="folder holding the clones (indonlu/, indolem/, UD_Indonesian-GSD/, ...)")
    ap.add_argument("--out", type=Path, default=Path("data/unlabelled/corpus.jsonl"), help="JSONL to write")
    ap.add_argument("--only", nargs="+", metavar="SOURCE", help="these sources (also those off by default)")
    ap.add_argument("--skip", nargs="+", metavar="SOURCE", default=[], help="leave these sources out")
    ap.add_argument("--missing-ok", action="store_true",
                    help="a source file that is not there is reported, not an error (a partial clone)")
    ap.add_argument("--splits", type=Path, default=ROOT / "annotations/corpus/splits.json",
                    help="frozen splits: the dev and test articles are excluded")
    ap.add_argument("--texts", type=Path, nargs="+", default=[ROOT / "annotations/corpus/texts", ROOT / "seeds"],
                    help="folders of <id>.txt for the split's articles")
    ap.add_argument("--chunk-words", type=int, default=250,
                    help="a source without documents is cut into chunks of consecutive sentences of about this many words")
    ap.add_argument("--not-heldout", type=Path, default=TOOL,
                    help=f"the held-out check run on the output (default {TOOL}); 'none' to skip it")
    ap.add_argument("--sample", type=Path, help="also write a sample of at most --sample-bytes here")
    ap.add_argument("--sample-bytes", type=int, default=100_000)
    ap.add_argument("--overwrite", action="store_true", help="replace an existing --out / --sample written by this recipe")
    return ap.parse_args(argv)


def ours(path: Path) -> bool:
    """Whether ``path`` is a corpus this recipe wrote (the output rule: only such a file is replaced)."""
    try:
        return all(isinstance(r, dict) and {"id", "text", "source", "licence"} <= r.keys() for _, r in read_jsonl(path))
    except (JsonlError, OSError, ValueError):
        return False


def screen(built: Built, out: Path, tool: Path | None) -> int:
    """Run the held-out check on ``out`` (``built``'s documents, in order); drop the documents it flags
    from ``built`` and rewrite ``out``. Returns how many it flagged."""
    if tool is None:
        return 0
    run = subprocess.run([sys.executable, str(tool), str(out)], capture_output=True, text=True)
    flagged = {int(m.group(2)): m.group(4) for m in map(FLAGGED.match, run.stdout.splitlines()) if m}
    if run.returncode not in (0, 1) or (run.returncode == 1 and not flagged):
        raise RuntimeError(f"{tool} failed on {out} (exit {run.returncode}): {run.stderr.strip()[-300:]}")
    if flagged:
        built.drop({built.docs[n - 1].id: ("(held-out set)", f"not_heldout.py: {share} of its 8-word runs")
                    for n, share in flagged.items()})
        write_corpus(built.docs, built.licences(), out)
    return len(flagged)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tool = None if str(args.not_heldout) == "none" else args.not_heldout
    try:
        specs = select(args.only, args.skip)
        for path in [args.out, *([args.sample] if args.sample else [])]:
            check_output(path, overwrite=args.overwrite, ours=ours, kind="a corpus written by this recipe")
        if tool is not None and not tool.is_file():
            raise FileNotFoundError(f"{tool}: the held-out check is not there (give --not-heldout PATH, or 'none')")
        heldout = heldout_texts(args.splits, args.texts)
        built = build_corpus(specs, args.sources, heldout, args.chunk_words, missing_ok=args.missing_ok)
    except (ValueError, FileNotFoundError, OutputExistsError) as e:
        print(f"build.py: error: {e}", file=sys.stderr)
        return 1
    write_corpus(built.docs, built.licences(), args.out)
    screen(built, args.out, tool)
    report = {**built.report(), "heldout_articles": sorted(heldout), "chunk_words": args.chunk_words,
              "not_heldout": str(tool) if tool else None}
    write_text(args.out.with_suffix(".report.json"), json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    print(licence_table(built.stats))
    for s in built.stats:
        for m in s.missing:
            print(f"missing (--missing-ok): {m}")
    for e in built.excluded:
        print(f"excluded {e.doc}: shares with {e.article}: {e.sentence[:100]!r}")
    print(f"wrote {args.out}: {len(built.docs):,} documents, {built.words:,} words "
          f"({len(built.excluded)} documents excluded; report {args.out.with_suffix('.report.json')})")
    if args.sample:
        docs = sample(built.docs, built.licences(), args.sample_bytes)
        size = write_corpus(docs, built.licences(), args.sample)
        print(f"wrote {args.sample}: {len(docs)} documents, {size:,} bytes")
        if screen(Built(docs, [dataclasses.replace(s) for s in built.stats]), args.sample, tool):
            print(f"{args.sample}: the held-out check flagged documents (dropped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
