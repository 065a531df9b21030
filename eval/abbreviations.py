"""How often a spelt-out abbreviation is right: the precision behind `scoqa.answer.abbreviations.CONFIDENCE`.

Every abbreviation used in the 35 training and tuning articles (dev-v2.0; the held-out articles
are never read here) is looked up in its own article as the Assistant looks it up in passages.
Each expansion found is compared with a judgement made by reading it (`--judged`, a TSV of
article, abbreviation, expansion and 1 or 0); an expansion nobody has judged yet is listed and
counted apart, never guessed.

    python eval/abbreviations.py --data ../shared/benchmarks/squad
"""
from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from pathlib import Path

from scoqa.answer.abbreviations import ABBREVIATION, CONFIDENCE, first_expansion

JUDGED = Path(__file__).with_name("abbreviations-judged.tsv")


def found_expansions(data: Path) -> list[tuple[str, str, str, str]]:
    """(article, abbreviation, rule, expansion) for every abbreviation an article spells out."""
    found = []
    for article in json.loads((data / "dev-v2.0.json").read_text())["data"]:
        paragraphs = [p["context"] for p in article["paragraphs"]]
        document = "\n\n".join(paragraphs)
        for abbreviation in sorted(set(ABBREVIATION.findall(document))):
            if hit := first_expansion(abbreviation, [(p, document) for p in paragraphs]):
                found.append((article["title"], abbreviation, hit[1].rule, hit[1].text))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the squad folder")
    parser.add_argument("--judged", type=Path, default=JUDGED)
    args = parser.parse_args()
    with args.judged.open(newline="", encoding="utf-8") as f:
        judged = {(r["article"], r["abbreviation"], r["expansion"]): r["right"] == "1"
                  for r in csv.DictReader(f, delimiter="\t")}
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    unjudged = []
    for article, abbreviation, rule, expansion in found_expansions(args.data):
        verdict = judged.get((article, abbreviation, expansion))
        if verdict is None:
            unjudged.append(f"{article}\t{abbreviation}\t{expansion}")
            continue
        total[rule] += 1
        right[rule] += verdict
    for rule in sorted(total):
        smoothed = (right[rule] + 1) / (total[rule] + 2)
        print(f"{rule:12} right {right[rule]} of {total[rule]} ({right[rule] / total[rule]:.1%}); "
              f"(right + 1) / (found + 2) = {smoothed:.3f}; shipped confidence {CONFIDENCE[rule]}")
    if unjudged:
        print(f"{len(unjudged)} expansions not judged yet (add them to {args.judged}):", *unjudged, sep="\n")


if __name__ == "__main__":
    main()
