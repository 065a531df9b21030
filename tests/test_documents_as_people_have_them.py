"""Documents as people really have them (issue 23): typeset text (ligatures, soft hyphens,
zero-width characters), HTML pages made of tables and lists, linked folders, PDFs encrypted with
an empty password, Word headers, footers, notes and text boxes, UTF-16 exports, and PDF lines
that wrap and hyphenate. Each kind is built here as a small file. The unit tests check what is
extracted, matched and cited (with a stand-in reader whose spans are known); the model tests
ask the shipped reader once over all the files and check the answer and an exact citation."""
from __future__ import annotations

import functools
import importlib.util
import io
from pathlib import Path

import pytest

from scoqa.answer import Assistant
from scoqa.answer.reader import Span
from scoqa.index.build import build_index
from scoqa.index.folder import FolderStore
from scoqa.analysis import search_text
from scoqa.ingest.chunk import Chunker, passage
from scoqa.ingest.formats import discover, extract_text, make_document, read_document
from scoqa.ingest.pdf import LOCKED
from scoqa.retrieve import Retriever
from scoqa.text import as_read, reading_view, sentences

# DejaVu Sans has the ligature glyphs; matplotlib ships it (found, not imported: 0.3 s).
FONT = Path(importlib.util.find_spec("matplotlib").origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

# Ligatures (U+FB01, U+FB03), a soft hyphen, a zero-width space, a zero-width joiner, a word
# joiner and a byte order mark inside the text; and the same text typed plainly.
TYPESET = ("The \ufb01scal o\ufb03ce is run by Petra Ilves. Its staff are certi\u00ad\ufb01ed "
           "ac\u200bcoun\u200dtants, and the of\u2060\ufb01ce opens at nine\ufeff on weekdays.")
PLAIN = ("The fiscal office is run by Petra Ilves. Its staff are certified "
         "accountants, and the office opens at nine on weekdays.")
# What a PDF's text layer can hold: the font has the ligatures, the writer drops soft hyphens.
TYPESET_PDF = "The \ufb01scal o\ufb03ce is run by Petra Ilves. Its staff are certi\ufb01ed accountants."
PLAIN_PDF = "The fiscal office is run by Petra Ilves. Its staff are certified accountants."
PRICING = """<!doctype html><html><head><title>Pricing - Acme Cloud</title></head><body>
<nav><a href="/">Home</a> <a href="/pricing">Pricing</a> <a href="/about">About us</a></nav>
<h1>Plans and prices</h1>
<table>
<tr><th>Plan</th><th>Price</th><th>Storage</th></tr>
<tr><td>Starter</td><td>9 EUR</td><td>50 GB</td></tr>
<tr><td>Pro</td><td>29 EUR</td><td>1 TB</td></tr>
<tr><td>Team</td><td>79 EUR</td><td>5 TB</td></tr>
</table>
<footer><a href="/imprint">Imprint</a> <a href="/privacy">Privacy</a></footer>
</body></html>"""
BAGGAGE = "<html><body><h2>Baggage</h2><ul><li>Checked bags: 23 kg each</li><li>Cabin bags: 8 kg</li></ul></body></html>"
ONE_SENTENCE = "<html><body><p>The reading room opens at nine on Sundays.</p></body></html>"
UTF16_NOTE = "Archive notes\r\nThe archive keys are kept by Jonas Berg in room 4.\r\nVisitors sign the blue book.\r\n"
TRAVEL = ("The committee approves the reimburse-\nment of travel costs up to 450 euros per trip for all "
          "staff members who travel abroad on official business and ask before they leave.")
FERRY = "# Ferries\n\nThe ferry to Skye leaves at 7:15 from Pier 3.\n"
STATEMENT = "Statement for March. Your account manager is Lena Park. The balance is 1,204 euros."


# The file makers import their libraries when first called, so that collecting tests imports
# none of them, and each PDF (0.1 s, most of it reading the font) and the contract is made once.
@functools.cache
def pdf_bytes(*paragraphs: str, title=None, heading=None, width=0) -> bytes:
    """A PDF in a Unicode font; `width` in mm (0: the page's), so that fpdf2 wraps the lines."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("DejaVu", "", str(FONT))
    if title:
        pdf.set_title(title)
    pdf.add_page()
    if heading:
        pdf.set_font("DejaVu", size=18)
        pdf.cell(0, 12, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=12)
    for text in paragraphs:
        pdf.multi_cell(width, 7, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    return bytes(pdf.output())


def encrypted(data: bytes, user_password: str, algorithm: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="the-owner", algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@functools.cache
def contract_docx() -> bytes:
    """A contract whose header, footer, footnote and text box each say something the body does
    not; the text box as Word writes it, a drawing with a fallback picture that repeats it."""
    import docx
    from docx.opc.constants import CONTENT_TYPE as CT, RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import parse_xml

    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = "Contract No. KX-4471-B"
    section.footer.paragraphs[0].text = "Governing law: Scotland"
    document.add_heading("Service contract", 1)
    body = document.add_paragraph("The supplier delivers the goods within 30 days.")
    body._p.append(parse_xml(f'<w:r xmlns:w="{W}"><w:footnoteReference w:id="1"/></w:r>'))
    anchor = document.add_paragraph("The parties sign below.")
    box = "<w:txbxContent><w:p><w:r><w:t>Delivery address: 12 Harbour Road, Leith</w:t></w:r></w:p></w:txbxContent>"
    anchor._p.append(parse_xml(
        f'<w:r xmlns:w="{W}" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
        'xmlns:v="urn:schemas-microsoft-com:vml"><mc:AlternateContent>'
        f'<mc:Choice Requires="wps"><w:drawing><wps:wsp><wps:txbx>{box}</wps:txbx></wps:wsp></w:drawing></mc:Choice>'
        f'<mc:Fallback><w:pict><v:shape><v:textbox>{box}</v:textbox></v:shape></w:pict></mc:Fallback>'
        '</mc:AlternateContent></w:r>'))
    notes = (f'<w:footnotes xmlns:w="{W}">'
             '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
             '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p>'
             '</w:footnote><w:footnote w:id="1"><w:p><w:r><w:t>Late delivery costs 2 percent of the price a week.'
             '</w:t></w:r></w:p></w:footnote></w:footnotes>')
    document.part.relate_to(Part(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, notes.encode(),
                                 document.part.package), RT.FOOTNOTES)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def typeset_file(suffix: str, text: str) -> bytes:
    """`text` in a file of the given type."""
    if suffix == ".txt":
        return text.encode("utf-8")
    if suffix == ".md":
        return f"# Offices\n\n{text}\n".encode("utf-8")
    if suffix == ".html":
        return f"<html><body><h1>Offices</h1><p>{text}</p></body></html>".encode("utf-8")
    if suffix == ".docx":
        return docx_bytes(text)
    return pdf_bytes(text)


class KnownSpans:
    """A stand-in reader: each answer of the question, wherever a passage has it."""

    no_answer_threshold = 0.5

    def __init__(self, answers: dict[str, str]):
        self.answers = answers
        self.passages: list[str] = []

    def read(self, question, passages, top_n=5, threshold=None):
        self.passages += passages
        answer = self.answers.get(question)
        spans = [Span(p, text.index(answer), text.index(answer) + len(answer), answer, 0.9 - 0.01 * p)
                 for p, text in enumerate(passages) if answer and answer in text]
        return spans[:top_n]


def assistant_over(folder: Path, embedder, answers: dict[str, str]) -> Assistant:
    report = build_index([folder], folder / ".index", embedder, progress=False)
    assert not report.skipped, report.skipped
    return Assistant(Retriever(FolderStore.open(folder / ".index"), embedder), KnownSpans(answers))


# 1. Typographic forms ------------------------------------------------------------------------

def test_the_reading_view_reads_typographic_forms_as_plain_text_and_maps_back():
    view = reading_view(TYPESET)
    assert view.text == PLAIN
    start = view.text.index("certified accountants")
    a, b = view.original(start, start + len("certified accountants"))
    assert TYPESET[a:b] == "certi\u00ad\ufb01ed ac\u200bcoun\u200dtants"
    for kept in ("10⁹ cells", "H₂O", "café", "Ünïcödé", "line\nbreak", "well-\nKnown"):  # not compatibility forms
        assert as_read(kept) == kept
    assert as_read("Ｐｅｔｒａ ½") == "Petra 1⁄2" and as_read("Petra\u00a0Ilves") == "Petra\u00a0Ilves"


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html", ".docx", ".pdf"])
def test_typographic_forms_change_nothing_that_is_matched_or_read(tmp_path, suffix):
    """The typeset file and the plain one are searched and read by the same text; the chunks
    still cite the typeset text."""
    typeset, plain = (TYPESET_PDF, PLAIN_PDF) if suffix == ".pdf" else (TYPESET, PLAIN)
    views = []
    for name, text in (("typeset", typeset), ("plain", plain)):
        doc = make_document(f"{name}{suffix}", extract_text(typeset_file(suffix, text), suffix))
        chunks = Chunker().chunk(doc)
        assert chunks and all(doc.text[c.start:c.end] == c.text for c in chunks)
        views.append(([search_text(c) for c in chunks], [passage(c).text for c in chunks], doc.title))
    assert views[0] == views[1]
    assert any("\ufb01scal" in c.text for c in Chunker().chunk(
        make_document(f"typeset{suffix}", extract_text(typeset_file(suffix, typeset), suffix))))


def test_a_typeset_answer_is_cited_in_the_original_text(tmp_path, hashing_embedder):
    (tmp_path / "offices.txt").write_text(TYPESET, encoding="utf-8")
    assistant = assistant_over(tmp_path, hashing_embedder, {"Who runs the fiscal office?": "Petra Ilves"})
    answer = assistant.ask("Who runs the fiscal office?")
    assert answer.text == "Petra Ilves" and answer.hits[0].bm25 > 0
    assert assistant.reader.passages[0].startswith("The fiscal office is run by Petra Ilves.")
    with open(tmp_path / "offices.txt", encoding="utf-8") as fh:
        text = fh.read()
    for cited in (answer.span, *answer.citations):
        assert text[cited.start:cited.end] == cited.quote
    assert answer.citations[0].quote == "The \ufb01scal o\ufb03ce is run by Petra Ilves."
    assert answer.evidence == "The fiscal office is run by Petra Ilves."


# 2. HTML made of structure -------------------------------------------------------------------

def test_an_html_table_becomes_rows_labelled_with_their_column_names():
    doc = make_document("pricing.html", extract_text(PRICING.encode(), ".html"))
    assert doc.title == "Plans and prices"
    chunks = Chunker().chunk(doc)
    row = next(c for c in chunks if "Pro" in c.text)
    assert row.text == "| Pro | 29 EUR | 1 TB |" and doc.label_at(row.start) == "Plan | Price | Storage"
    assert search_text(row) == "Plans and prices\nPlan | Price | Storage\n| Pro | 29 EUR | 1 TB |"
    read = passage(row)
    assert read.text == "Plans and prices\nPlan: Pro; Price: 29 EUR; Storage: 1 TB."  # as a reader reads a row
    at = read.text.index("29 EUR")
    assert row.text[slice(*read.chunk_span(at, at + 6))] == "29 EUR"
    assert read.chunk_span(read.text.index("Price"), at + 6) is None  # a span holding a column name
    chunked = "\n".join(c.text for c in chunks)
    assert all(f"| {plan} |" in chunked for plan in ("Starter", "Pro", "Team"))
    assert "About us" not in chunked and "Imprint" not in chunked  # navigation and footer stay out


def test_html_lists_and_one_sentence_pages_are_content_and_menus_are_not(tmp_path, hashing_embedder):
    for name, page in (("pricing.html", PRICING), ("baggage.html", BAGGAGE), ("hours.html", ONE_SENTENCE),
                       ("menu.html", "<ul><li>Home</li><li>Print</li><li>Share</li></ul>")):
        (tmp_path / name).write_text(page, encoding="utf-8")
    report = build_index([tmp_path], tmp_path / ".index", hashing_embedder, progress=False)
    assert sorted(report.added) == ["baggage.html", "hours.html", "pricing.html"]
    assert [source for source, _ in report.skipped] == ["menu.html"]
    store = FolderStore.open(tmp_path / ".index")
    texts = {store.chunk(i).text for i in range(len(store))}
    assert {"- Checked bags: 23 kg each", "The reading room opens at nine on Sundays."} <= texts | {
        line for t in texts for line in t.split("\n")}


def test_a_table_row_answers_with_its_cell(tmp_path, hashing_embedder):
    (tmp_path / "pricing.html").write_text(PRICING, encoding="utf-8")
    assistant = assistant_over(tmp_path, hashing_embedder, {"How much does the Pro plan cost?": "29 EUR"})
    answer = assistant.ask("How much does the Pro plan cost?")
    doc = assistant.documents["pricing.html"]
    assert answer.text == "29 EUR" and answer.citations[0].quote == "| Pro | 29 EUR | 1 TB |"
    assert doc.text == extract_text(PRICING.encode(), ".html").text
    assert all(doc.text[c.start:c.end] == c.quote for c in (answer.span, *answer.citations))


# 3. Linked folders ---------------------------------------------------------------------------

def linked_folder(tmp_path: Path) -> Path:
    docs, elsewhere = tmp_path / "docs", tmp_path / "elsewhere"
    docs.mkdir()
    elsewhere.mkdir()
    (docs / "own.txt").write_text("The spare key is under the blue flower pot.\n", encoding="utf-8")
    (elsewhere / "ferry.md").write_text(FERRY, encoding="utf-8")
    (docs / "shared").symlink_to("../elsewhere", target_is_directory=True)
    (docs / "via").symlink_to("../elsewhere", target_is_directory=True)  # a second way to the same folder
    (docs / "loop").symlink_to(".", target_is_directory=True)
    (docs / "gone.txt").symlink_to("../missing.txt")
    (docs / "alias.txt").symlink_to("own.txt")
    (docs / "up").symlink_to("..", target_is_directory=True)  # holds docs itself
    (docs / "round.txt").symlink_to("round.txt")
    return docs


def test_linked_folders_are_followed_and_what_is_not_followed_is_named(tmp_path, hashing_embedder):
    docs = linked_folder(tmp_path)
    found = discover([docs])
    assert [f.relative_to(docs).as_posix() for f in found.files] == ["own.txt", "shared/ferry.md"]
    report = build_index([docs], tmp_path / "index", hashing_embedder, progress=False)
    assert sorted(report.added) == ["own.txt", "shared/ferry.md"]
    reasons = dict(report.skipped)
    assert set(reasons) == {"alias.txt", "gone.txt", "loop", "round.txt", "up", "via"}
    assert reasons["alias.txt"] == "the same file as own.txt, read once"
    assert reasons["gone.txt"] == "a broken link: ../missing.txt does not exist"
    assert reasons["loop"] == "a link to ., a folder read already: not followed again"
    assert reasons["via"] == "a link to shared, a folder read already: not followed again"
    assert reasons["up"] == "a link to a folder that holds . (a loop): not followed"
    assert reasons["round.txt"] == "a link that leads round in a circle (to round.txt)"
    assert "6 skipped: alias.txt (the same file as own.txt, read once); gone.txt (a broken link: " in report.summary()


def test_index_names_what_it_did_not_read(tmp_path, hashing_embedder):
    (tmp_path / "notes.txt").write_text("The boat is moored at the north quay.\n", encoding="utf-8")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    summary = build_index([tmp_path], tmp_path / "index", hashing_embedder, progress=False).summary()
    assert "not read: 1 file of other types (.png 1; scoqa reads .docx, .htm, .html, .md, .pdf, .txt)" in summary
    assert "not read, hidden: .git" in summary


# 4. Encrypted PDFs ---------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_a_pdf_encrypted_with_an_empty_password_is_read(algorithm):
    plain = pdf_bytes(STATEMENT)
    assert extract_text(encrypted(plain, "", algorithm), ".pdf").text == extract_text(plain, ".pdf").text


def test_a_locked_pdf_is_named_password_protected(tmp_path, hashing_embedder):
    (tmp_path / "statement.pdf").write_bytes(encrypted(pdf_bytes(STATEMENT), "", "AES-256"))
    (tmp_path / "locked.pdf").write_bytes(encrypted(pdf_bytes(STATEMENT), "s3cret", "AES-256"))
    report = build_index([tmp_path], tmp_path / ".index", hashing_embedder, progress=False)
    assert report.added == ["statement.pdf"] and report.skipped == [("locked.pdf", LOCKED)]
    assert LOCKED.startswith("password-protected PDF")


# 5. Word documents ---------------------------------------------------------------------------

def test_word_headers_footers_footnotes_and_text_boxes_are_text():
    text = extract_text(contract_docx(), ".docx").text
    assert text == ("Contract No. KX-4471-B\n\n# Service contract\n\nThe supplier delivers the goods within 30 days.\n\n"
                    "The parties sign below.\n\nDelivery address: 12 Harbour Road, Leith\n\n"
                    "Late delivery costs 2 percent of the price a week.\n\nGoverning law: Scotland")
    assert make_document("contract.docx", extract_text(contract_docx(), ".docx")).title == "Service contract"


def test_a_word_footer_answers_and_is_cited_in_the_extracted_text(tmp_path, hashing_embedder):
    (tmp_path / "contract.docx").write_bytes(contract_docx())
    assistant = assistant_over(tmp_path, hashing_embedder, {"Which law governs the contract?": "Scotland"})
    answer = assistant.ask("Which law governs the contract?")
    extracted = extract_text(contract_docx(), ".docx").text
    assert answer.text == "Scotland" and answer.citations[0].quote == "Governing law: Scotland"
    assert all(extracted[c.start:c.end] == c.quote for c in (answer.span, *answer.citations))
    assert answer.citations[0].encoding is None  # offsets index the extracted text, not a file's encoding


# 6. Encodings --------------------------------------------------------------------------------

def test_utf16_with_a_bom_is_read_as_open_reads_it(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"\xff\xfe" + UTF16_NOTE.encode("utf-16-le"))  # Notepad's "Unicode"
    doc, warning = read_document(path, tmp_path)
    assert (doc.encoding, warning) == ("utf-16", None)
    with open(path, encoding=doc.encoding) as fh:
        assert doc.text == fh.read()


def test_an_encoding_without_a_bom_is_a_guess_with_a_warning(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(UTF16_NOTE.encode("utf-16-le"))
    doc, warning = read_document(path, tmp_path)
    assert doc.encoding == "utf-16-le" and "a guess" in warning and "save it as UTF-8" in warning
    with open(path, encoding=doc.encoding) as fh:
        assert doc.text == fh.read()
    path.write_bytes("Le comité a signé la déclaration à Moscou en été.".encode("cp1252"))
    doc, warning = read_document(path, tmp_path)
    assert doc.encoding == "cp1252" and doc.text == "Le comité a signé la déclaration à Moscou en été."


def test_a_utf16_citation_says_its_encoding(tmp_path, hashing_embedder):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"\xff\xfe" + UTF16_NOTE.encode("utf-16-le"))
    assistant = assistant_over(tmp_path, hashing_embedder, {"Who keeps the archive keys?": "Jonas Berg"})
    answer = assistant.ask("Who keeps the archive keys?")
    cited = answer.citations[0]
    assert answer.text == "Jonas Berg" and cited.encoding == "utf-16"
    assert answer.to_json()["citations"][0]["encoding"] == "utf-16"
    with open(path, encoding=cited.encoding) as fh:
        assert fh.read()[cited.start:cited.end] == cited.quote == "The archive keys are kept by Jonas Berg in room 4."


# 7. PDF lines --------------------------------------------------------------------------------

def test_pdf_sentences_run_across_wrapped_and_hyphenated_lines():
    extracted = extract_text(pdf_bytes(TRAVEL, width=70), ".pdf")
    assert "reimburse-\nment" in extracted.text  # the text layer's hyphen and line break stay
    first = extracted.text[slice(*sentences(extracted.text)[0])]
    assert " ".join(as_read(first).split()) == TRAVEL.replace("-\n", "")  # justified: spaces widened


def test_a_pdf_title_is_its_metadata_or_its_heading_never_a_fragment():
    def title(**kwargs):
        return make_document("travel.pdf", extract_text(pdf_bytes(TRAVEL, width=70, **kwargs), ".pdf")).title

    assert title(title="Travel expenses policy", heading="Travel") == "Travel expenses policy"
    assert title(heading="Travel expenses") == "Travel expenses"
    assert title() is None
    assert title(title="Microsoft Word - travel.docx", heading="Travel expenses") == "Travel expenses"


def test_pdf_evidence_is_the_sentence_as_read(tmp_path, hashing_embedder):
    (tmp_path / "travel.pdf").write_bytes(pdf_bytes(TRAVEL, width=70, heading="Travel expenses"))
    question = "Up to how much are travel costs reimbursed per trip?"
    assistant = assistant_over(tmp_path, hashing_embedder, {question: "450 euros"})
    answer = assistant.ask(question)
    extracted = extract_text((tmp_path / "travel.pdf").read_bytes(), ".pdf").text
    assert answer.text == "450 euros"
    assert " ".join(answer.evidence.split()) == TRAVEL.replace("-\n", "")  # justified: spaces widened
    assert all(extracted[c.start:c.end] == c.quote for c in (answer.span, *answer.citations))


# The shipped reader, once over every kind ----------------------------------------------------

@pytest.fixture(scope="module")
def people(tmp_path_factory, embedder, reader):
    """Every kind above in one folder, indexed with the real model and read by the shipped reader."""
    root = tmp_path_factory.mktemp("people")
    docs = linked_folder(root)
    (docs / "typeset.pdf").write_bytes(pdf_bytes(TYPESET_PDF))
    (docs / "pricing.html").write_text(PRICING, encoding="utf-8")
    (docs / "statement.pdf").write_bytes(encrypted(pdf_bytes(STATEMENT), "", "AES-256"))
    (docs / "contract.docx").write_bytes(contract_docx())
    (docs / "archive.txt").write_bytes(b"\xff\xfe" + UTF16_NOTE.encode("utf-16-le"))
    (docs / "travel.pdf").write_bytes(pdf_bytes(TRAVEL, width=70, heading="Travel expenses"))
    report = build_index([docs], root / "index", embedder, progress=False)
    assert len(report.added) == 8
    return docs, Assistant(Retriever(FolderStore.open(root / "index"), embedder), reader)


@pytest.mark.parametrize("question, answer, source", [
    ("Who runs the fiscal office?", "Petra Ilves", "typeset.pdf"),
    ("How much does the Pro plan cost?", "29 EUR", "pricing.html"),
    ("Where does the ferry to Skye leave from?", "Pier 3", "shared/ferry.md"),
    ("Who is the account manager?", "Lena Park", "statement.pdf"),
    ("What is the contract number?", "KX-4471-B", "contract.docx"),  # its header
    ("Which law governs the contract?", "Scotland", "contract.docx"),  # its footer
    ("What is the delivery address?", "12 Harbour Road, Leith", "contract.docx"),  # its text box
    ("How much does late delivery cost?", "2 percent of the price a week", "contract.docx"),  # its footnote
    ("Who keeps the archive keys?", "Jonas Berg", "archive.txt"),
    ("Up to how much are travel costs reimbursed per trip?", "450 euros", "travel.pdf"),
])
def test_every_kind_is_answered_and_cited_exactly(people, question, answer, source):
    docs, assistant = people
    result = assistant.ask(question)
    assert result.text == answer
    cited = result.citations[0]
    assert cited.source == source
    path = docs / source
    if cited.encoding is not None:
        with open(path, encoding=cited.encoding) as fh:
            text = fh.read()
    else:
        text = extract_text(path.read_bytes(), path.suffix).text
    assert all(text[c.start:c.end] == c.quote for c in (result.span, *result.citations) if c.source == source)
    assert answer in as_read(cited.quote)


def test_an_abbreviation_is_spelt_out_across_a_ligature(tmp_path, hashing_embedder):
    (tmp_path / "harbour.txt").write_text("The \ufb02eet Operations Group (FOG) runs the harbour.\n", encoding="utf-8")
    answer = assistant_over(tmp_path, hashing_embedder, {}).ask("What does FOG stand for?")
    assert answer.text == "\ufb02eet Operations Group" and answer.span.quote == answer.text
