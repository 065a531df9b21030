"""The effect of `text.whole_code` (a span never cuts "KX-4471-B") on the held-out SQuAD figures,
exactly: only a question whose paragraph holds a hyphenated code (capital and digit pieces, a
letter among them) can get another span, so those are read twice, with the rule and without it;
every other prediction is the same.

    PYTHONPATH=src python eval/squad_code_rule.py --data ../shared/benchmarks/squad
"""
import argparse
import re
from pathlib import Path

import torch
from squad import questions, score
from squad_split import held_out_articles, read_dev

import scoqa.answer.reader as reader_module
from scoqa.answer.reader import Reader

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--data", type=Path, required=True, help="the squad folder")
data = parser.parse_args().data
torch.set_num_threads(2)
CODE = re.compile(r"(?<![\w-])[A-Z0-9]+(?:-[A-Z0-9]+)+(?![\w-])")
items = questions(held_out_articles(*read_dev(data)))
coded = [it for it in items if any(any(c.isalpha() for c in m.group()) for m in CODE.finditer(it[2]))]
print(f"{len(items)} held-out questions; {len(coded)} read a paragraph with a hyphenated code", flush=True)
reader = Reader.load()
with_rule = {qid: (reader.read(q, [c], top_n=1) or [None])[0] for qid, q, c, _ in coded}
reader_module.whole_code = lambda text, start, end: (start, end)
without = {qid: (reader.read(q, [c], top_n=1) or [None])[0] for qid, q, c, _ in coded}
changed = 0
f1_with = f1_without = em_with = em_without = 0.0
for qid, q, c, golds in coded:
    a, b = with_rule[qid], without[qid]
    ta, tb = (a.text if a else ""), (b.text if b else "")
    ea, fa = score(ta, golds); eb, fb = score(tb, golds)
    em_with += ea; em_without += eb; f1_with += fa; f1_without += fb
    if ta != tb:
        changed += 1
        print(f"  {q!r}: {tb!r} -> {ta!r} (gold {golds[:2]}) F1 {fb:.2f} -> {fa:.2f}")
n = len(items)
print(f"{changed} predictions changed; over all {n} held-out questions, answering always: "
      f"EM {100 * (em_with - em_without) / n:+.3f} points, F1 {100 * (f1_with - f1_without) / n:+.3f} points")
