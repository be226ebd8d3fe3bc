"""CoNLL column files (IndoNLU NERP / NERGrit style) with a label mapping."""

from __future__ import annotations

import pytest

from indoevent.annotation.conll import ConllError, map_tags, read_conll

NERP = """Presiden\tO
Joko\tB-PPL
Widodo\tI-PPL
mengunjungi\tO
Jakarta\tB-PLC
.\tO

Kemenlu\tB-IND
menggelar\tO
Asian\tB-EVT
Games\tI-EVT

"""
NERP_MAP = {"PPL": "PER", "PLC": "LOC", "IND": "ORG", "EVT": "O", "FNB": None}


@pytest.fixture
def nerp(tmp_path):
    p = tmp_path / "nerp_train.txt"
    p.write_text(NERP, encoding="utf-8")
    return p


def test_reads_sentences_with_mapping(nerp):
    arts, rep = read_conll(nerp, NERP_MAP)
    assert [a.doc_id for a in arts] == ["nerp_train:1", "nerp_train:8"]
    assert arts[0].tokens == ["Presiden", "Joko", "Widodo", "mengunjungi", "Jakarta", "."]
    assert arts[0].tags == ["O", "B-PER", "I-PER", "O", "B-LOC", "O"]
    assert arts[1].tags == ["B-ORG", "O", "O", "O"]  # EVT dropped by the mapping
    for a in arts:  # offsets point into the article text
        assert [a.text[s:e] for s, e in zip(a.starts, a.ends, strict=True)] == a.tokens
    assert rep.mapped == {"PPL->PER": 1, "PLC->LOC": 1, "IND->ORG": 1}
    assert rep.dropped == {"EVT": 1}
    assert (rep.sentences, rep.tokens, rep.repaired_i) == (2, 10, 0)


def test_unmapped_foreign_label_fails_with_file_and_line(nerp):
    with pytest.raises(ConllError, match=r"nerp_train\.txt:8: token 3: label 'EVT' is not a project label"):
        read_conll(nerp, {"PPL": "PER", "PLC": "LOC", "IND": "ORG"})


def test_mapping_to_a_label_the_project_lacks_fails(nerp):
    with pytest.raises(ConllError, match="not a project label"):
        read_conll(nerp, {**NERP_MAP, "PPL": "PERSON"})


def test_project_labels_pass_through_unmapped(tmp_path):
    p = tmp_path / "ours.conll"
    p.write_text("Putin B-PER\nbertemu B-CONSULT\nKim B-PER\nJong I-PER\nUn I-PER\n", encoding="utf-8")
    arts, _ = read_conll(p)
    assert arts[0].tags == ["B-PER", "B-CONSULT", "B-PER", "I-PER", "I-PER"]


def test_iob1_inside_tags_are_repaired_and_counted(tmp_path):
    p = tmp_path / "iob1.txt"
    p.write_text("Joko\tI-PPL\nWidodo\tI-PPL\ndan\tO\nMegawati\tI-PPL\n", encoding="utf-8")
    arts, rep = read_conll(p, NERP_MAP)
    assert arts[0].tags == ["B-PER", "I-PER", "O", "B-PER"]
    assert rep.repaired_i == 2


def test_extra_columns_docstart_and_crlf(tmp_path):
    p = tmp_path / "cols.txt"
    p.write_bytes(b"-DOCSTART- -X- O O\r\n\r\nJakarta NNP B-NP B-PLC\r\nramai JJ B-ADJP O\r\n")
    arts, _ = read_conll(p, NERP_MAP)
    assert len(arts) == 1 and arts[0].tokens == ["Jakarta", "ramai"] and arts[0].tags == ["B-LOC", "O"]


@pytest.mark.parametrize("content, message", [
    ("Jakarta\n", r":1: expected 'token<TAB>tag'"),
    ("Jakarta\tX-PLC\n", r"tag 'X-PLC' is not O, B-LABEL or I-LABEL"),
    ("\n\n", "no sentences"),
])
def test_bad_files(tmp_path, content, message):
    p = tmp_path / "bad.txt"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(ConllError, match=message):
        read_conll(p)


def test_missing_file(tmp_path):
    with pytest.raises(ConllError, match="no such CoNLL file"):
        read_conll(tmp_path / "none.txt")


def test_map_tags_keeps_span_edges():
    assert map_tags(["B-PPL", "B-PPL", "I-PPL"], {"PPL": "PER"}) == ["B-PER", "B-PER", "I-PER"]
    # A dropped span between two kept ones does not glue them together.
    assert map_tags(["B-PPL", "B-EVT", "I-PPL"], NERP_MAP) == ["B-PER", "O", "B-PER"]


def test_a_byte_order_mark_does_not_stick_to_the_first_token(tmp_path):
    # Windows editors start UTF-8 files with a BOM; read as text it made "\ufeff-DOCSTART-" a token.
    p = tmp_path / "bom.txt"
    p.write_bytes("\ufeff-DOCSTART- O\n\nJoko\tB-PER\nWidodo\tI-PER\n".encode("utf-8"))
    arts, _ = read_conll(p)
    assert [a.tokens for a in arts] == [["Joko", "Widodo"]]
    p.write_bytes("\ufeffJoko\tB-PER\n".encode("utf-8"))
    assert read_conll(p)[0][0].tokens == ["Joko"]


def test_a_latin1_file_is_one_clear_error_naming_the_line(tmp_path):
    p = tmp_path / "latin1.txt"
    p.write_bytes("Joko\tB-PER\n\nCaf\u00e9\tO\n".encode("latin-1"))
    with pytest.raises(ConllError, match=r"latin1\.txt:3: not UTF-8 .*iconv"):
        read_conll(p)


def test_a_folder_is_one_clear_error(tmp_path):
    with pytest.raises(ConllError, match="is a folder"):
        read_conll(tmp_path)


def test_a_unicode_line_separator_inside_a_token_is_not_a_line_break(tmp_path):
    p = tmp_path / "ls.txt"
    p.write_text("Jo\u2028ko\tB-PER\nWidodo\tI-PER\n", encoding="utf-8")
    arts, _ = read_conll(p)
    assert arts[0].tokens == ["Jo\u2028ko", "Widodo"] and arts[0].doc_id == "ls:1"
