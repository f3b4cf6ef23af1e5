"""Check that a file is a complete GGUF model before anything relies on it.

llama.cpp reports a bad file as a bare "failed to load model"; this check names the problem in
plain words instead: the file is missing, empty, not a GGUF file at all, of an unsupported GGUF
version, damaged, or shorter than its own header says (an interrupted download or copy).

Policy:

- One set of messages for every caller (engine load, ``models add``, ``models`` status): each
  names the file and says what is wrong (:attr:`GGUFFileError.problem`); ``str(error)`` adds the
  fix (:data:`FIX_HINT`). Callers with a fix of their own use ``problem`` and add theirs.
- :func:`check_gguf_file` reads the header, the metadata and the tensor table (a few MB at most,
  even for a 150k-token vocabulary: strings are skipped, not decoded) and compares the size the
  tensors need with the file's size; it never reads the weights. :func:`read_gguf_header` reads
  only the fixed 24-byte header, so it also works on the first part of a split file.
- Standard library only.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

GGUF_MAGIC = b"GGUF"
SUPPORTED_GGUF_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
FIX_HINT = "Choose another model in Settings or run `her-desktop models install`."
"""The fix added to every message of :class:`GGUFFileError` (and of failed engine loads)."""

# ggml type id -> (elements per block, bytes per block); from ggml.h / gguf-py constants.
GGML_TYPE_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 40), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
    15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18),
    21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4),
    27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66),
    39: (32, 17),
}  # fmt: skip

# GGUF metadata value types: fixed-size scalars by type id (8 = string, 9 = array).
_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY, _UINT32 = 8, 9, 4
_MAX_STRING = 1 << 30
_MAX_DIMS = 8
_READ_CHUNK = 1 << 20
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class GGUFFileError(ValueError):
    """The file is not a complete GGUF model.

    ``problem`` names the file and says what is wrong; ``str(error)`` adds :data:`FIX_HINT`.
    """

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem}. {FIX_HINT}")
        self.problem = problem


@dataclass(frozen=True, slots=True)
class GGUFHeader:
    """The fixed header at the start of every GGUF file."""

    version: int
    tensor_count: int
    kv_count: int


@dataclass(frozen=True, slots=True)
class GGUFSummary:
    """What :func:`check_gguf_file` learnt from a complete file."""

    header: GGUFHeader
    data_offset: int
    expected_size: int
    """Bytes the file must have at least: the data section up to the end of the last tensor."""


class _Truncated(Exception):
    """The file ended where the header says there is more."""


class _Reader:
    """Sequential little-endian reads from a file, buffered in 1 MB chunks (fast skips)."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle = handle
        self.size = size
        self._buf = b""
        self._pos = 0

    def _need(self, n: int) -> None:
        if self._pos + n <= len(self._buf):
            return
        rest = self._buf[self._pos :]
        more = self.handle.read(max(n - len(rest), _READ_CHUNK))
        self._buf, self._pos = rest + more, 0
        if len(self._buf) < n:
            raise _Truncated

    def read(self, n: int) -> bytes:
        self._need(n)
        data = self._buf[self._pos : self._pos + n]
        self._pos += n
        return data

    def _number(self, fmt: struct.Struct) -> int:
        self._need(fmt.size)
        (value,) = fmt.unpack_from(self._buf, self._pos)
        self._pos += fmt.size
        return int(value)

    def u32(self) -> int:
        return self._number(_U32)

    def u64(self) -> int:
        return self._number(_U64)

    def tell(self) -> int:
        return self.handle.tell() - (len(self._buf) - self._pos)

    def skip(self, n: int) -> None:
        """Move ``n`` bytes on; past the end of the file is a truncated file."""
        self._move_to(self._pos + n)

    def _move_to(self, pos: int) -> None:
        """Go to ``pos`` in the buffer, or as far past its end in the file."""
        if pos <= len(self._buf):
            self._pos = pos
            return
        beyond = pos - len(self._buf)
        if self.handle.tell() + beyond > self.size:
            raise _Truncated
        self.handle.seek(beyond, 1)
        self._buf, self._pos = b"", 0

    def string(self) -> bytes:
        return self.read(_string_length(self.u64()))

    def skip_strings(self, count: int) -> None:
        """Skip ``count`` strings: the hot loop of a tokenizer's vocabulary, kept tight."""
        buf, pos, unpack = self._buf, self._pos, _U64.unpack_from
        for _ in range(count):
            if pos + 8 > len(buf):
                self._move_to(pos)
                self._need(8)
                buf, pos = self._buf, self._pos
            (n,) = unpack(buf, pos)
            pos += 8 + _string_length(n)
        self._move_to(pos)

    def value(self, vtype: int) -> int | None:
        """Read one metadata value: a uint32 is returned, anything else is skipped."""
        if vtype == _UINT32:
            return self.u32()
        if vtype == _STRING:
            self.skip_strings(1)
        elif vtype in _SCALAR_SIZES:
            self.skip(_SCALAR_SIZES[vtype])
        elif vtype == _ARRAY:
            etype, count = self.u32(), self.u64()
            if etype in _SCALAR_SIZES:
                self.skip(_SCALAR_SIZES[etype] * count)
            elif etype == _STRING:
                self.skip_strings(count)
            else:
                for _ in range(count):
                    self.value(etype)
        else:
            raise ValueError(f"unknown metadata type {vtype}")
        return None


def _string_length(n: int) -> int:
    if n > _MAX_STRING:
        raise ValueError(f"a {n}-byte string")
    return n


def _describe_start(head: bytes) -> str:
    printable = head[:8].decode("latin-1")
    if head[:8].isascii() and printable.isprintable():
        return repr(printable)
    return " ".join(f"{b:02x}" for b in head[:8])


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[tuple[_Reader, int]]:
    """Open a GGUF file for reading (reader, size); every failure becomes a GGUFFileError."""
    name = str(path)
    if not path.exists():
        raise GGUFFileError(f"The model file {name} does not exist")
    if not path.is_file():
        raise GGUFFileError(f"The model path {name} is not a file")
    size = 0
    try:
        size = path.stat().st_size
        if size == 0:
            raise GGUFFileError(
                f"The model file {name} is empty (0 bytes), probably an interrupted download "
                "or copy"
            )
        with path.open("rb") as handle:
            head = handle.read(8)
            if head[:4] != GGUF_MAGIC:
                raise GGUFFileError(
                    f"{name} is not a GGUF model file (it starts with {_describe_start(head)})"
                )
            handle.seek(0)
            yield _Reader(handle, size), size
    except GGUFFileError:
        raise
    except _Truncated:
        raise GGUFFileError(
            f"The model file {name} is incomplete ({size:,} bytes, cut short inside its "
            "header), probably an interrupted download or copy"
        ) from None
    except (ValueError, OverflowError) as exc:
        raise GGUFFileError(f"The model file {name} has a damaged GGUF header ({exc})") from None
    except OSError as exc:
        raise GGUFFileError(
            f"The model file {name} cannot be read ({exc.strerror or exc})"
        ) from None


def _fixed_header(reader: _Reader, path: Path) -> GGUFHeader:
    reader.read(4)  # the magic, checked by _reading
    version = reader.u32()
    if version not in SUPPORTED_GGUF_VERSIONS:
        raise GGUFFileError(
            f"The model file {path} is GGUF version {version}; only versions "
            f"{' and '.join(map(str, SUPPORTED_GGUF_VERSIONS))} are supported"
        )
    tensor_count, kv_count = reader.u64(), reader.u64()
    return GGUFHeader(version=version, tensor_count=tensor_count, kv_count=kv_count)


def read_gguf_header(path: Path) -> GGUFHeader:
    """The fixed GGUF header of ``path``; raises ``GGUFFileError`` when it is not one."""
    with _reading(path) as (reader, _):
        return _fixed_header(reader, path)


def check_gguf_file(path: Path) -> GGUFSummary:
    """Raise ``GGUFFileError`` unless ``path`` is a complete GGUF file; return its summary."""
    with _reading(path) as (reader, size):
        summary = _walk_tables(reader, _fixed_header(reader, path))
    if size < summary.expected_size:
        raise GGUFFileError(
            f"The model file {path} is incomplete: it has {size:,} bytes but its header "
            f"describes {summary.expected_size:,}, probably an interrupted download or copy"
        )
    return summary


def gguf_problem(path: Path) -> str | None:
    """None when ``path`` is a complete GGUF file, else what is wrong with it (no fix added)."""
    try:
        check_gguf_file(path)
    except GGUFFileError as exc:
        return exc.problem
    return None


def _walk_tables(reader: _Reader, header: GGUFHeader) -> GGUFSummary:
    """Read the metadata and the tensor table that follow the fixed header."""
    alignment = DEFAULT_ALIGNMENT
    for _ in range(header.kv_count):
        key = reader.string()
        value = reader.value(reader.u32())
        if key == b"general.alignment" and value is not None and value > 0:
            alignment = value
    end_of_data = 0
    for _ in range(header.tensor_count):
        reader.skip_strings(1)
        n_dims = reader.u32()
        if n_dims > _MAX_DIMS:
            raise ValueError(f"a tensor with {n_dims} dimensions")
        elements = 1
        for _ in range(n_dims):
            elements *= reader.u64()
        ggml_type, offset = reader.u32(), reader.u64()
        block, type_size = GGML_TYPE_SIZES.get(ggml_type, (1, 0))  # unknown type: offset only
        end_of_data = max(end_of_data, offset + elements // block * type_size)
    header_end = reader.tell()
    data_offset = (header_end + alignment - 1) // alignment * alignment
    expected = data_offset + end_of_data if header.tensor_count else header_end
    return GGUFSummary(header, data_offset, expected)
