"""Every CLI command and exit code: 0 success, 2 bad usage or input, 1 internal failure. Errors
found before a model loads are unit tests, in process; the rest run `scoqa` as a user does."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scoqa.app import cli

from conftest import CORPUS, REPO

def scoqa(*args: str, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scoqa.app.cli", *args], capture_output=True, text=True,
                          input=stdin, env={**os.environ, **(env or {})}, cwd=REPO, timeout=300)


def exit_code(args: list[str]) -> int:
    """main()'s return value, or argparse's exit status for usage errors."""
    try:
        return cli.main(args)
    except SystemExit as exit:
        return exit.code


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "index"
    result = scoqa("index", str(CORPUS), "--index", str(folder), "-q")
    assert result.returncode == 0, result.stderr
    assert "5 documents" in result.stdout and "5 added" in result.stdout
    return folder


@pytest.mark.model
def test_index_again_is_incremental(built):
    result = scoqa("index", str(CORPUS), "-q", env={"SCOQA_INDEX": str(built)})
    assert result.returncode == 0
    assert "0 added, 0 changed, 0 removed, 5 unchanged; 0 chunks embedded" in result.stdout


@pytest.mark.model
def test_search_json(built):
    result = scoqa("search", "What did the SCO say about Syria?", "-k", "2", "--json", "--index", str(built))
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["query"] == "What did the SCO say about Syria?"
    assert len(payload["hits"]) == 2
    top = payload["hits"][0]
    assert set(top) >= {"rank", "score", "source", "start", "end", "date", "text", "also_in"}
    assert top["source"] == "002_7249c5024e0c0fdf.txt" and top["date"] == "2020-11-23"
    assert (CORPUS / top["source"]).read_text(encoding="utf-8")[top["start"]:top["end"]] == top["text"]


@pytest.mark.model
def test_search_human_output_and_queries_from_stdin(built):
    result = scoqa("search", "--index", str(built), "--mode", "bm25", "-k", "1",
                   stdin="Syria reconstruction\nMyanmar dialogue partner\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("[1] ") == 2
    assert "002_7249c5024e0c0fdf.txt" in result.stdout and "004_8703ce6526d76945.txt" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["search", "   "], "the query is empty"),
    (["search", "SCO", "-k", "0"], "-k must be at least 1"),
    (["search", "SCO", "--index", "/nonexistent/index"], "no index at"),
    (["index", "/nonexistent/folder"], "no such file or folder"),
    (["search", "SCO", "--mode", "fuzzy"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_usage_and_bad_input_exit_2_with_one_line(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCOQA_INDEX", str(tmp_path / "index"))
    assert exit_code(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def raw_scoqa(*args: bytes | str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """scoqa with byte arguments and byte stdin, as a shell passes undecodable bytes."""
    return subprocess.run([sys.executable, "-m", "scoqa.app.cli", *args], capture_output=True, input=stdin,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"}, cwd=REPO, timeout=300)


@pytest.mark.model
@pytest.mark.parametrize("command", ["ask", "search"])
def test_undecodable_bytes_in_an_argument_exit_2(built, command):
    result = raw_scoqa(command, b"Who signed the \xff\xfe memorandum?", "--index", str(built))
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2 and "not valid UTF-8" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.model
def test_an_undecodable_line_in_a_batch_gets_its_own_error(built):
    lines = b"Where was the memorandum signed?\nWho signed the \xff\xfe memorandum?\nWhat did the SCO say about Syria?\n"
    asked = raw_scoqa("ask", "-", "--index", str(built), stdin=lines)
    assert asked.returncode == 0, asked.stderr
    payloads = [json.loads(line) for line in asked.stdout.decode("utf-8").splitlines()]
    assert len(payloads) == 3 and "error" not in payloads[0] and "error" not in payloads[2]
    assert "not valid UTF-8" in payloads[1]["error"] and payloads[1]["question"] == "Who signed the \ufffd\ufffd memorandum?"
    searched = raw_scoqa("search", "--json", "-k", "1", "--index", str(built), stdin=lines)
    assert searched.returncode == 0, searched.stderr
    results = [json.loads(line) for line in searched.stdout.decode("utf-8").splitlines()]
    assert [len(r.get("hits", [])) for r in results] == [1, 0, 1] and "not valid UTF-8" in results[1]["error"]


def test_index_naming_a_file_exit_2(tmp_path, capsys):
    afile = tmp_path / "index.txt"
    afile.write_text("not a folder", encoding="utf-8")
    for args in (["index", str(CORPUS), "--index", str(afile)], ["search", "SCO", "--index", str(afile)]):
        assert exit_code(args) == 2
        assert "is a file, not a folder" in capsys.readouterr().err


def test_damaged_index_exit_2_says_how_to_rebuild(tmp_path, capsys):
    (tmp_path / "CURRENT").write_text("gen-000001\n", encoding="utf-8")
    (tmp_path / "gen-000001").mkdir()
    assert exit_code(["search", "SCO", "--index", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "scoqa index --rebuild" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_internal_failure_exit_1_without_traceback(monkeypatch, capsys, tmp_path):
    def broken(args):
        raise RuntimeError("something broke")

    monkeypatch.setattr(cli, "_search", broken)
    assert cli.main(["search", "SCO", "--index", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: something broke" in err and "Traceback" not in err



@pytest.mark.model
def test_ask_builds_a_missing_index_then_answers_in_json(tmp_path):
    folder = tmp_path / "fresh-index"
    result = scoqa("ask", "Who signed the memorandum for the SCO?", "--json", "--index", str(folder))
    assert result.returncode == 0, result.stderr
    assert "indexing corpus/ first" in result.stderr and "5 documents" in result.stderr
    payload = json.loads(result.stdout)
    assert list(payload)[:5] == ["question", "answer", "confidence", "evidence", "citations"]
    assert 0.0 <= payload["confidence"] <= 1.0
    quoted = payload["citations"] + payload["related"]  # an answer's citations, or the closest passages
    assert quoted
    for citation in quoted:
        text = (CORPUS / citation["source"]).read_text(encoding="utf-8")
        assert text[citation["start"]:citation["end"]] == citation["quote"]


@pytest.mark.model
def test_ask_reads_questions_from_stdin_as_json_lines(built):
    questions = "Where was the memorandum signed?\n\nWhat did the SCO say about Syria?\n" + "x" * 100_000 + "\n"
    result = scoqa("ask", "-", "--index", str(built), stdin=questions)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["question"] for line in lines[:2]] == ["Where was the memorandum signed?",
                                                        "What did the SCO say about Syria?"]
    assert "too long" in lines[2]["error"] and lines[2]["answer"] is None


@pytest.mark.model
@pytest.mark.parametrize("question, message", [("  ", "the question is empty"), ("x" * 100_000, "too long")])
def test_ask_refuses_empty_and_huge_questions(built, question, message):
    result = scoqa("ask", question, "--index", str(built))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
