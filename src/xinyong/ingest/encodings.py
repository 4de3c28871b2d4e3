"""Text files in the encodings departments save them in: UTF-8, GB18030 (with GBK and GB2312), UTF-16.

Excel on a Chinese-language system saves CSV in GBK/GB18030, and some systems export UTF-16; a
department should not have to re-encode by hand. The encoding is the one declared (`--encoding`,
or `encoding:` in the source's mapping in the catalog), else told by a byte-order mark, else UTF-8
when the file's first megabyte is valid UTF-8, else detected by charset-normalizer from the bytes.
A file whose encoding cannot be told with confidence is refused with the candidates and how to
declare one. Decoding is always strict: a byte the encoding cannot read refuses the file, naming
its line; nothing is ever read with replacement characters.
"""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from xinyong.domain.errors import FileRefused

Hash = Any  # a hashlib object: update(bytes) and hexdigest()
HEAD = 1 << 20  # bytes looked at to choose the encoding
WINDOW = 1 << 16  # bytes around a late undecodable byte that detection looks at, to name candidates
MARGIN = 0.1  # candidates whose "chaos" (charset-normalizer's measure of mess) is this close to the best compete
# Declarable encodings (Python codec names) and how each is read: GBK and GB2312 bytes are read by
# their own codecs; detection reads any of the three as GB18030, which contains both.
ACCEPTED = ("utf-8", "gb18030", "gbk", "gb2312", "utf-16", "utf-16-le", "utf-16-be")
_DETECTED = {
    "gb18030": "gb18030",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "utf_16": "utf-16",
    "utf_16_le": "utf-16-le",
    "utf_16_be": "utf-16-be",
    "utf_8": "utf-8",
}


@dataclass(frozen=True)
class Decoding:
    """How a file's bytes are read: the codec, and how the summary names the choice."""

    codec: str
    how: str  # "declared", "byte-order mark", "valid UTF-8" or "detected"

    @property
    def label(self) -> str:
        """As the batch summary shows it: "utf-8", or e.g. "gb18030 (detected)"."""
        name = self.codec.removesuffix("-sig")
        return name if self.how == "valid UTF-8" else f"{name} ({self.how})"


def declared_codec(name: str) -> str:
    """The codec of a declared encoding name (utf8, GBK, cp936 ...), or FileRefused naming those accepted."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        codec = ""
    codec = {"utf-8-sig": "utf-8", "utf-16le": "utf-16-le", "utf-16be": "utf-16-be"}.get(codec, codec)
    if codec not in ACCEPTED:
        raise FileRefused(f"encoding '{name[:40]}' is not one xinyong reads; declare one of: {', '.join(ACCEPTED)}")
    return codec


def choose(path: Path, declared: str | None, usual: str | None = None) -> Decoding:
    """The encoding to read `path` in (see the module's docstring); FileRefused when it cannot be told.

    `declared` is the caller's word for this file (`--encoding`), and binds. `usual` is what the
    catalog says the source's files are in: it yields to a byte-order mark and to text that is
    UTF-8 beyond doubt (non-ASCII bytes that decode as UTF-8, which GB18030 text almost never
    does), so that the department's files in xinyong's own UTF-8 form are still read as they are.
    """
    with path.open("rb") as f:
        head = f.read(HEAD)
    if declared:
        return _declared(declared, head, "declared")
    if head.startswith(codecs.BOM_UTF8):
        return Decoding("utf-8-sig", "byte-order mark")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Decoding("utf-16", "byte-order mark")
    if _decodes(head, "utf-8") and (usual is None or not head.isascii()):
        return Decoding("utf-8-sig", "valid UTF-8")
    if usual:
        return _declared(usual, head, "declared in the catalog")
    return Decoding(_detect(path, head), "detected")


def _declared(name: str, head: bytes, how: str) -> Decoding:
    codec = declared_codec(name)
    if codec.startswith("utf-16") and head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16"  # the mark says the byte order, and is not read as a character
    return Decoding("utf-8-sig" if codec == "utf-8" else codec, how)


def _decodes(data: bytes, codec: str) -> bool:
    """Whether `data`, the start of a file, decodes strictly (a sequence cut at its end is fine)."""
    try:
        codecs.getincrementaldecoder(codec)("strict").decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _reads_as_chinese(data: bytes) -> bool:
    """Whether `data` is GB18030 text of common Chinese: nearly all its non-ASCII characters in GB2312.

    Text in another encoding read as GB18030 gives rare characters from the extended areas (a
    Latin letter's byte pairs with the next ASCII byte, outside GB2312's rows), so the share of
    GB2312 characters tells a department's GBK file from, say, a Latin-1 or Big5 one, even when a
    short file leaves a general detector undecided.
    """
    try:
        text = codecs.getincrementaldecoder("gb18030")("strict").decode(data, final=False)
    except UnicodeDecodeError:
        return False
    wide = [c for c in text if not c.isascii()]
    if len(wide) < 2:
        return False
    common = sum(1 for c in wide if _in_gb2312(c))
    return common >= 0.9 * len(wide)


def _in_gb2312(c: str) -> bool:
    try:
        c.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _candidates(data: bytes) -> tuple[str | None, list[str]]:
    """(the codec detection is confident of or None, every candidate charset-normalizer names)."""
    if _reads_as_chinese(data):
        return "gb18030", []
    from charset_normalizer import from_bytes  # only files that are not UTF-8 or GB18030 pay for loading it

    matches = list(from_bytes(data))
    if not matches:
        return None, []
    best = min(m.chaos for m in matches)
    near = {_DETECTED.get(m.encoding) for m in matches if m.chaos <= best + MARGIN}
    names = list(dict.fromkeys(m.encoding.replace("_", "-") for m in matches))
    if len(near) == 1 and None not in near:
        codec = next(iter(near))
        if codec is not None and _decodes(data, codec):
            return codec, names
    return None, names


def _how_to_declare() -> str:
    return (
        "declare it with `xinyong ingest --encoding NAME`, or as `encoding:` in the source's mapping in "
        f"the catalog (accepted: {', '.join(ACCEPTED)})"
    )


def _detect(path: Path, head: bytes) -> str:
    codec, names = _candidates(head)
    if codec is not None:
        return codec
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=False)
        where = ""
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        where = f"line {line}: not valid UTF-8 (byte 0x{head[exc.start]:02x}), and "
    could = f"it could be {', '.join(names[:6])}" if names else "no one encoding reads all of it as text"
    raise FileRefused(f"{path.name}: {where}the encoding cannot be told with confidence: {could}; " + _how_to_declare())


def _bad_offset(path: Path, codec: str) -> int:
    """The file offset of the first byte `codec` cannot decode (0 if none is found)."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    offset = 0
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return max(offset + exc.start - len(decoder.getstate()[0]), 0)
            offset += len(block)
    return 0


def late_refusal(path: Path, line: int, exc: UnicodeDecodeError, decoding: Decoding) -> FileRefused:
    """The refusal of a file whose bytes stop being `decoding` after its start, naming line and candidates.

    The reader decodes ahead of the line it parses, so the line is counted again from the file's
    first undecodable byte; detection then looks at the bytes from that line on.
    """
    byte = exc.object[exc.start : exc.start + 1].hex()
    name = decoding.codec.removesuffix("-sig").upper()
    offset = _bad_offset(path, decoding.codec)
    with path.open("rb") as f:
        before = f.read(offset)
        start = before.rfind(b"\n") + 1
        f.seek(start)
        window = f.read(WINDOW)
    if not decoding.codec.startswith("utf-16"):  # a line break is one byte in every other accepted encoding
        line = before.count(b"\n") + 1
    codec, names = _candidates(window)
    if codec is not None:
        hint = f"The bytes there look like {codec.upper()}: {_how_to_declare()}."
    elif names:
        hint = f"The bytes there could be {', '.join(names[:6])}: {_how_to_declare()}."
    else:
        hint = f"Save the file in one encoding and {_how_to_declare()}."
    return FileRefused(f"{path.name}: line {line}: not valid {name} (byte 0x{byte} cannot be decoded). {hint}")


class _Hashing(io.RawIOBase):
    """The file's bytes as they are read, added to a digest on the way: one pass does both."""

    def __init__(self, raw: IO[bytes], digest: Hash) -> None:
        self._raw = raw
        self._digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self._digest.update(memoryview(buffer)[:n])
        return int(n or 0)

    def close(self) -> None:
        self._raw.close()
        super().close()


def text_stream(path: Path, digest: Hash, decoding: Decoding) -> io.TextIOWrapper:
    """The file as text in `decoding`, strictly, with `digest` fed every byte read."""
    raw = io.BufferedReader(_Hashing(path.open("rb", buffering=0), digest), buffer_size=1 << 20)
    return io.TextIOWrapper(raw, encoding=decoding.codec, errors="strict", newline="")
