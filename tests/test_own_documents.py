"""A user's own documents (issue 12): notes, lists, tables, FAQs, CRLF files, PDFs and Word files
are all indexed, searched and answered, with citations that hold against the file as open()
reads it; only web pages are cleaned of page furniture."""
from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from scoqa.analysis import search_text
from scoqa.evaluate.metrics import f1_score
from scoqa.index.build import NOTHING_SEARCHABLE, build_index
from scoqa.ingest.chunk import Chunker
from scoqa.ingest.clean import clean
from scoqa.ingest.formats import UnreadableFile, extract_text, make_document, read_document
from scoqa.ingest.structure import sections

from conftest import CORPUS

NOTES = {
    "note.md": "# Members\n\n- India\n- China\n\nThe Secretariat moved to Beijing in 2004.\n",
    "plain.txt": "Meeting at 10am.\nBring the budget report.\nAlice chairs the meeting.\n",
    "budget.md": "## Budget\n\nThe budget for 2025 is 4 million euros.\n",
    "faq.txt": "Q: Where is the archive kept?\nA: The archive is kept in Tashkent.\n",
    "short.txt": "The ferry leaves from the north pier.\n",
    "unfinished.txt": "the harbour office keeps the keys to every boat shed along the quay for members and their guests\n",
    "staff.md": "# Staff\n\n| Name | Role | City |\n|---|---|---|\n| Ingrid Halvorsen | treasurer | Oslo |\n"
                "| Tomas Berg | auditor | Bergen |\n",
}
CRLF = (b"Minutes of the spring meeting\r\n\r\nThe committee met on Tuesday in the small hall.\r\n"
        b"The new treasurer is Ingrid Halvorsen, who replaces Tomas Berg.\r\nThe next meeting is in May.\r\n")
CR = b"Old notes\r\rThe lighthouse keeper was Peder Lund.\rHe kept the lamp for thirty years.\r"
PDF_PAGES = ("The first page is about the harbour.", "The harbour master is Karin Dahl.",
             "The third page lists the ferry times.")


def pdf_bytes(pages) -> bytes:
    from fpdf import FPDF  # imported when first used, not when tests are collected

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 10, text)
        else:
            pdf.rect(20, 20, 100, 60, style="F")  # a picture, as a scan would be: no text layer
    return bytes(pdf.output())


def docx_bytes() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Garden club", 1)
    document.add_paragraph("The club meets every Sunday in the old orchard.")
    document.add_heading("Officers", 2)
    table = document.add_table(rows=3, cols=2)
    for row, names in zip(table.rows, [("Office", "Holder"), ("President", "Maria Lopez"), ("Secretary", "Jan Novak")]):
        row.cells[0].text, row.cells[1].text = names
    document.add_paragraph("Seeds are swapped in March.", style="List Bullet")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def covered(doc, chunks) -> bool:
    """Every non-blank line of the document stands whole in some chunk."""
    spans = [(c.start, c.end) for c in chunks]
    at = 0
    for line in doc.text.split("\n"):
        start, end = at + len(line) - len(line.lstrip()), at + len(line.rstrip())
        at += len(line) + 1
        if start < end and not any(a <= start and end <= b for a, b in spans):
            return False
    return True


@pytest.mark.parametrize("name", sorted(NOTES))
def test_every_line_of_a_users_own_text_is_chunked(name):
    doc = make_document(name, NOTES[name])
    chunks = Chunker().chunk(doc)
    assert chunks and covered(doc, chunks)


def test_a_line_that_looks_like_a_widget_stays_in_a_users_note():
    text = "Home\n\nThe spare key is under the blue flower pot.\n"
    assert make_document("home.txt", text).content == ((0, len(text) - 1),)


def test_web_pages_are_still_cleaned():
    scrape = (CORPUS / "001_fc58cf3dceaf584f.txt").read_text(encoding="utf-8")
    assert [scrape[s:e].split("\n", 1)[0] for s, e in clean(scrape).content] == [
        "SCO, Red Cross sign memorandum of understanding"]  # the article alone (figures: test_clean.py)
    html = b"<html><body><nav><a href='/'>Home</a></nav><p>Short line.</p></body></html>"
    page = make_document("page.html", extract_text(html, ".html"))
    assert [page.text[s:e] for s, e in page.content] == ["Short line."]  # a short page's one line is its content


def test_headings_and_table_rows_label_their_chunks():
    text = NOTES["staff.md"].replace("# Staff\n", "# Staff\n\n## Officers\n")
    doc = make_document("staff.md", text)
    assert doc.title == "Staff"
    labels = {text[s:e]: label for s, e, label in sections(text)}
    assert labels["| Ingrid Halvorsen | treasurer | Oslo |"] == "Officers\nName | Role | City"
    row = next(c for c in Chunker().chunk(doc) if c.text == "| Tomas Berg | auditor | Bergen |")
    assert search_text(row) == "Staff\nOfficers\nName | Role | City\n| Tomas Berg | auditor | Bergen |"
    budget = Chunker().chunk(make_document("budget.md", "# Plan\n\n## Budget\n\nThe budget is 4 million euros.\n"))
    assert search_text(budget[-1]) == "Plan\nBudget\n## Budget\n\nThe budget is 4 million euros."


LINE = st.one_of(
    st.lists(st.sampled_from("the club met in Oslo on Monday and agreed budget Karin café 2025 Q: A:".split()),
             min_size=1, max_size=25).map(" ".join),
    st.sampled_from(["", "", "# Notes", "## Budget", "- India", "| Name | Role |", "|---|---|", "| Alice | chair |"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(LINE, min_size=1, max_size=15), st.sampled_from(["\n", "\r\n", "\r"]),
       st.sampled_from([".txt", ".md"]), st.sampled_from(["utf-8", "cp1252"]), st.booleans())
def test_offsets_are_into_the_file_as_open_reads_it(tmp_path, lines, newline, suffix, encoding, final_newline):
    path = tmp_path / f"generated{suffix}"
    body = newline.join(lines) + (newline if final_newline else "")
    if not body.strip():
        return
    path.write_bytes(body.encode(encoding))
    doc, _ = read_document(path, tmp_path)
    with open(path, encoding=encoding) as fh:
        as_read = fh.read()
    assert doc.text == as_read
    chunks = Chunker().chunk(doc)
    assert chunks and covered(doc, chunks)
    assert all(as_read[c.start : c.end] == c.text for c in chunks)


def test_pdf_pages_are_known_and_a_scan_says_why_it_cannot_be_read():
    extracted = extract_text(pdf_bytes(PDF_PAGES), ".pdf")
    doc = make_document("harbour.pdf", extracted)
    for number, page in enumerate(PDF_PAGES, 1):
        assert doc.page_at(doc.text.index(page)) == number
    with pytest.raises(UnreadableFile, match=r"no text layer \(scanned\?\)"):
        extract_text(pdf_bytes(["", ""]), ".pdf")


def test_word_documents_keep_headings_lists_and_tables():
    text = extract_text(docx_bytes(), ".docx").text
    assert text.startswith("# Garden club\n\nThe club meets every Sunday in the old orchard.\n\n## Officers\n\n")
    assert "| Office | Holder |\n| --- | --- |\n| President | Maria Lopez |" in text
    assert "- Seeds are swapped in March." in text
    doc = make_document("club.docx", text)
    assert doc.title == "Garden club"
    row = text.index("| President | Maria Lopez |")
    assert doc.label_at(row) == "Officers\nOffice | Holder"


def test_a_document_that_cleans_to_nothing_is_named_with_its_reason(tmp_path, hashing_embedder):
    from scoqa.index import open_store
    from scoqa.index.uploads import add_uploads

    (tmp_path / "menu.html").write_text("<ul><li>Home</li><li>Print</li><li>Share</li></ul>", encoding="utf-8")
    (tmp_path / "plain.txt").write_text(NOTES["plain.txt"], encoding="utf-8")
    report = build_index([tmp_path], tmp_path / ".index", hashing_embedder, progress=False)
    assert report.added == ["plain.txt"] and report.skipped == [("menu.html", NOTHING_SEARCHABLE)]
    assert f"menu.html ({NOTHING_SEARCHABLE})" in report.summary()
    upload = add_uploads(open_store(tmp_path / ".index"), hashing_embedder, [tmp_path / "menu.html"])
    assert [(o.status, o.reason) for o in upload.outcomes] == [("refused", NOTHING_SEARCHABLE)]


@pytest.mark.service  # the chat server's module imports gradio
def test_the_chat_says_why_an_upload_was_refused():
    from scoqa.app.serve import upload_html
    from scoqa.index.uploads import UploadOutcome, UploadReport

    status = upload_html(UploadReport((UploadOutcome("uploads/menu.html", "refused", NOTHING_SEARCHABLE),), 1))
    assert "uploads/menu.html: refused: nothing searchable" in status and "added" not in status


@pytest.fixture(scope="module")
def own(tmp_path_factory, embedder, reader):
    """The documents above in one folder, indexed with the real model and read by the shipped reader."""
    from scoqa.answer import Assistant
    from scoqa.index.folder import FolderStore
    from scoqa.retrieve import Retriever

    folder = tmp_path_factory.mktemp("own")
    for name, text in NOTES.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "crlf.txt").write_bytes(CRLF)
    (folder / "cr.txt").write_bytes(CR)
    (folder / "harbour.pdf").write_bytes(pdf_bytes(PDF_PAGES))
    (folder / "club.docx").write_bytes(docx_bytes())
    report = build_index([folder], folder / ".index", embedder, progress=False)
    assert not report.skipped and len(report.added) == len(NOTES) + 4
    return folder, Assistant(Retriever(FolderStore.open(folder / ".index"), embedder), reader)


@pytest.mark.parametrize("question, answer, source", [
    ("Who chairs the meeting?", "Alice", "plain.txt"),
    ("What is the budget for 2025?", "4 million euros", "budget.md"),
    ("Where is the archive kept?", "Tashkent", "faq.txt"),
    ("Who is the new treasurer?", "Ingrid Halvorsen", "crlf.txt"),
    ("Who was the lighthouse keeper?", "Peder Lund", "cr.txt"),
])
def test_a_users_notes_are_answered_and_cited_as_open_reads_them(own, question, answer, source):
    folder, assistant = own
    result = assistant.ask(question)
    assert f1_score(result.text or "", answer) >= 0.5  # right, as `scoqa eval` counts it
    cited = result.citations[0]
    assert cited.source == source and cited.page is None
    with open(folder / source, encoding="utf-8") as fh:
        assert fh.read()[cited.start : cited.end] == cited.quote
    assert answer in cited.quote and result.text in cited.quote


def test_pdf_answers_cite_their_page(own):
    _, assistant = own
    result = assistant.ask("Who is the harbour master?")
    assert f1_score(result.text or "", "Karin Dahl") >= 0.5
    assert (result.citations[0].source, result.citations[0].page) == ("harbour.pdf", 2)
    assert result.to_json()["citations"][0]["page"] == 2


@pytest.mark.parametrize("query, source, text", [
    ("Tomas Berg role city", "staff.md", "| Tomas Berg | auditor | Bergen |"),
    ("Maria Lopez office", "club.docx", "| President | Maria Lopez |"),
    ("Which members: India, China", "note.md", "- India\n- China"),
])
def test_table_rows_and_lists_are_found(own, query, source, text):
    _, assistant = own
    best = assistant.retriever.search(query, k=1)[0].chunk
    assert best.source == source and text in best.text
