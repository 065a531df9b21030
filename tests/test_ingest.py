from __future__ import annotations


import pytest

from scoqa.ingest.formats import UnreadableFile, discover, extract_text, read_document

from conftest import CORPUS

def one_page_pdf(line: str) -> bytes:
    """A minimal valid PDF showing one line of text, with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 712 Td ({line}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_seed_text_is_the_file_text_so_offsets_hold():
    found = discover([CORPUS])
    assert found.base == CORPUS and len(found.files) == 5
    for path in found.files:
        doc, warning = read_document(path, found.base)
        assert warning is None
        assert doc.text == open(path, encoding="utf-8").read()
        assert doc.source == path.name


def test_discover_recurses_and_names_sources_relative_to_the_folder(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep.md").write_text("# Deep\n\nText.", encoding="utf-8")
    (tmp_path / "top.html").write_text("<p>x</p>", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "secret.txt").write_text("no", encoding="utf-8")
    found = discover([tmp_path])
    assert [f.relative_to(found.base).as_posix() for f in found.files] == ["a/b/deep.md", "top.html"]
    assert found.hidden == [tmp_path / ".hidden"] and found.other_types == {".png": 1}
    with pytest.raises(FileNotFoundError):
        discover([tmp_path / "missing"])


def test_html_text_drops_markup_scripts_and_styles():
    html = (b"<html><head><title>T</title><style>p{}</style><script>var x=1</script></head>"
            b"<body><h1>The SCO summit</h1><p>Leaders <b>met</b> in Astana&nbsp;today.</p></body></html>")
    extracted = extract_text(html, ".html")
    assert extracted.text == "# The SCO summit\n\nLeaders met in Astana today."
    assert extracted.warning is None and extracted.title == "T"


def test_pdf_text():
    extracted = extract_text(one_page_pdf("Hello from a PDF about the SCO"), ".pdf")
    assert "Hello from a PDF about the SCO" in extracted.text and extracted.pages == (0,)


@pytest.mark.parametrize("data, suffix, reason", [
    (b"", ".txt", "empty"),
    (b"   \n\t ", ".md", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06", ".txt", "binary"),
    (b"%PDF-1.4 this is not really a pdf", ".pdf", "PDF"),
    (b"", ".pdf", "PDF"),
])
def test_unreadable_files_say_why(data, suffix, reason):
    with pytest.raises(UnreadableFile, match=reason):
        extract_text(data, suffix)


def test_non_utf8_text_is_decoded_with_a_warning():
    extracted = extract_text("Déclaration de Moscou".encode("cp1252"), ".txt")
    assert extracted.text == "Déclaration de Moscou"
    assert "cp1252" in extracted.warning


def test_a_bad_file_is_skipped_and_the_run_continues(tmp_path, hashing_embedder):
    from scoqa.index.build import build_index

    (tmp_path / "good.txt").write_text(
        "The SCO Secretariat is located in Beijing, the capital of the People's Republic of China.",
        encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (tmp_path / "binary.md").write_bytes(b"\x00\xff\x00")
    notes = []
    report = build_index([tmp_path], tmp_path / ".index", hashing_embedder, progress=False, notify=notes.append)
    assert report.documents == 1
    assert sorted(source for source, _ in report.skipped) == ["binary.md", "broken.pdf", "empty.txt"]
    assert len(notes) == 3 and all(note.startswith("skipped ") for note in notes)
    assert "3 skipped: binary.md (binary file" in report.summary()
