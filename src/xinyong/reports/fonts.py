"""The CJK font of PDF reports, and a reduced copy of it that makes most reports five times faster.

The font comes from a Debian package, found by path (never a font file in the repository):
fonts-wqy-zenhei, or another TrueType-outline CJK collection listed in `FONTS`. Such a font holds
some 45,000 glyphs, and fpdf2 reads all of them for every document it embeds the font in. Nearly
every report needs only the characters of GB 2312 (the 6,763 common hanzi), Latin and the
punctuation of both, so the first report a machine makes writes the font's subset of those to the
user's cache directory (`$XDG_CACHE_HOME/xinyong/fonts`, else a temporary one), and a report whose
text stays inside it embeds that subset. A report with a rarer character (喆, 堃, 镕 ...) embeds
the whole font. Either way the glyphs are the font's own, so the PDF's text is the same.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from functools import cache
from pathlib import Path

from xinyong.domain.errors import ConfigurationError

# TrueType-outline CJK fonts of Debian packages (CFF-based OpenType collections such as
# fonts-noto-cjk cannot be embedded by fpdf2's subsetter). First found wins.
FONTS = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, "fonts-wqy-zenhei"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, "fonts-wqy-microhei"),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0, "fonts-arphic-uming"),
)
COMMON_VERSION = "gb2312-1"  # change when COMMON changes: it names the cached file


@cache
def font() -> tuple[str, int]:
    """(path, face index) of the CJK font.

    Raises:
        ConfigurationError: none of the known fonts is installed; says which package to install.
    """
    for path, face, _ in FONTS:
        if Path(path).is_file():
            return path, face
    looked = ", ".join(p for p, _, _ in FONTS)
    raise ConfigurationError(
        f"no CJK TrueType font for PDF reports (looked for {looked}): install the Debian package "
        "fonts-wqy-zenhei (`apt-get install fonts-wqy-zenhei`)"
    )


@cache
def cmap() -> frozenset[int]:
    """The code points the font has a glyph for."""
    from fontTools.ttLib import TTCollection

    path, face = font()
    with TTCollection(path, lazy=True) as collection:
        return frozenset(collection.fonts[face].getBestCmap())


@cache
def common() -> frozenset[int]:
    """GB 2312's characters, printable Latin-1, general punctuation, CJK symbols and full-width forms."""
    chars = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100)) | set(range(0x2000, 0x2070))
    chars |= set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))
    for first in range(0xA1, 0xF8):
        for second in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes((first, second)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return frozenset(chars & cmap())


def face_for(text: str) -> tuple[str, int]:
    """(path, face index) of the font to embed for `text`: the reduced one when it covers every
    character (and can be made), else the whole font."""
    if all(ord(c) in common() for c in text if c not in "\n\r\t"):
        reduced = _reduced()
        if reduced is not None:
            return str(reduced), 0
    return font()


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xinyong" / "fonts"


@cache
def _reduced() -> Path | None:
    """The cached subset of the font to `common()`, made once per machine (written under a
    temporary name and renamed, so processes that make it at once never read half a file);
    None when it cannot be written anywhere."""
    path, face = font()
    stat = Path(path).stat()
    key = hashlib.sha256(f"{path}|{face}|{stat.st_size}|{stat.st_mtime_ns}|{COMMON_VERSION}".encode()).hexdigest()
    for folder in (_cache_dir(), Path(tempfile.gettempdir()) / f"xinyong-fonts-{os.getuid()}"):
        target = folder / f"{key[:24]}.ttf"
        if target.is_file():
            return target
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _write_subset(path, face, target)
        except OSError:
            continue
        return target
    return None


def _write_subset(path: str, face: int, target: Path) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    with TTCollection(path) as collection:
        ttfont = collection.fonts[face]
        options = subset.Options(notdef_outline=True, recommended_glyphs=True, name_IDs=["*"], name_languages=["*"])
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=common())
        subsetter.subset(ttfont)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                ttfont.save(out)
            Path(tmp).replace(target)
        finally:
            Path(tmp).unlink(missing_ok=True)
