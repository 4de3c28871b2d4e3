"""PDF reports embed a reduced copy of the CJK font when their text allows, the whole font when a
rarer character needs it; both give a PDF whose text is exactly the text written."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest
from fontTools.ttLib import TTFont

from xinyong.reports import fonts
from xinyong.reports.pdf import render

COMMON = "杭州某某科技有限公司 行政处罚决定书 杭市监罚〔2023〕71号，罚款 10,000 元。ABC"
RARE = "张喆 李堃 王镕"  # hanzi outside GB 2312 that the font has


def _pdf_text(lines: list[tuple[str, str]]) -> tuple[str, int]:
    data = render(
        lines, lang="zh", code="AAAA-BBBB-CCCC-DDDD", verify_url="http://127.0.0.1/v1/reports/x/verify",
        attachment=b"{}", issued_at=datetime.now(UTC),
    )  # fmt: skip
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "".join(p.extract_text() or "" for p in reader.pages), len(data)


def test_common_text_embeds_the_reduced_font_and_reads_back_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fonts._reduced.cache_clear()
    path, face = fonts.face_for(COMMON)
    assert Path(path).parent == tmp_path / "xinyong" / "fonts" and face == 0
    reduced = TTFont(path)
    held = set(reduced.getBestCmap())
    assert {ord(c) for c in COMMON} <= held <= fonts.cmap()
    assert len(reduced.getGlyphOrder()) < 10_000 < len(fonts.cmap()), "reduced means reduced"
    assert fonts.face_for(COMMON) == (path, 0), "made once, then found"
    text, _ = _pdf_text([("title", "专用信用报告"), ("body", COMMON)])
    assert "".join(text.split()).startswith("专用信用报告" + "".join(COMMON.split()))


def test_a_rare_character_embeds_the_whole_font_and_is_not_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fonts._reduced.cache_clear()
    assert all(ord(c) in fonts.cmap() and ord(c) not in fonts.common() for c in "喆堃镕")
    assert fonts.face_for(COMMON + RARE) == fonts.font()
    text, _ = _pdf_text([("body", COMMON), ("body", RARE)])
    assert "张喆李堃王镕" in "".join(text.split())


def test_an_unwritable_cache_falls_back_to_a_temporary_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the cache directory would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    fonts._reduced.cache_clear()
    path, _ = fonts.face_for(COMMON)
    assert not path.startswith(str(blocked)) and Path(path).is_file()
    fonts._reduced.cache_clear()
