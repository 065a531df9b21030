"""The fixed split of the SQuAD dev sets by article, in one place for training, calibration and
every benchmark (shared/notes/models.md):

- held out: the 13 dev-v1.1 articles that dev-v2.0 lacks, never read in training or tuning and
  measured only by `eval/squad.py` and `eval/squad_open.py`;
- development: the 35 articles both sets hold, from which `scripts/train_reader.py` keeps
  TUNING_ARTICLES apart (per-epoch scores, calibration, thresholds) and trains on the rest.

scoqa itself never imports this (nor anything under eval/ or scripts/).
"""
from __future__ import annotations

import json
from pathlib import Path

# Kept apart from training: the reader's and the re-ranker's calibration and thresholds are
# fitted on these (reader.json names them as "tuning_articles").
TUNING_ARTICLES = ("Normans", "Steam_engine", "Pharmacy", "Warsaw")


def read_dev(data: Path) -> tuple[list[dict], list[dict]]:
    """The articles of dev-v1.1.json and dev-v2.0.json in the SQuAD folder `data`."""
    v1 = json.loads((data / "dev-v1.1.json").read_text(encoding="utf-8"))["data"]
    v2 = json.loads((data / "dev-v2.0.json").read_text(encoding="utf-8"))["data"]
    return v1, v2


def held_out_articles(v1: list[dict], v2: list[dict]) -> list[dict]:
    """The dev-v1.1 articles that dev-v2.0 lacks, in their order."""
    titles = {article["title"] for article in v2}
    return [article for article in v1 if article["title"] not in titles]


def development_articles(v1: list[dict], v2: list[dict]) -> list[dict]:
    """Every article both sets hold: dev-v2.0's first (its version of a question comes first),
    then dev-v1.1's (the few questions dev-v2.0 dropped)."""
    titles = {article["title"] for article in v2}
    return v2 + [article for article in v1 if article["title"] in titles]
