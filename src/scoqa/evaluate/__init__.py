"""Evaluate: takes a gold file of questions and an Assistant, gives scores and a report
(`harness`, behind `scoqa eval`); `metrics` holds SQuAD's exact match and F1."""
