"""Check that a file is a complete GGUF model before llama.cpp is asked to load it.

llama.cpp reports a bad file as a bare "failed to load model"; this check names the problem in
plain words instead: the file is missing, empty, not a GGUF file at all, or shorter than its own
header says (an interrupted download or copy). It reads only the header and the tensor table
(a few MB at most, even for a 150k-token vocabulary), never the weights, and needs nothing but
the standard library.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
FIX_HINT = "Choose another model in Settings or run `her-desktop models install`."

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


class GGUFFileError(Exception):
    """The file is not a complete GGUF model. The message names the file and the fix."""


@dataclass(frozen=True, slots=True)
class GGUFSummary:
    version: int
    n_tensors: int
    data_offset: int
    expected_size: int
    """Bytes the file must have at least: the data section up to the end of the last tensor."""


class _Truncated(Exception):
    pass


class _Reader:
    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle

    def read(self, n: int) -> bytes:
        data = self.handle.read(n)
        if len(data) != n:
            raise _Truncated
        return data

    def u32(self) -> int:
        return int(struct.unpack("<I", self.read(4))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.read(8))[0])

    def string(self) -> bytes:
        n = self.u64()
        if n > _MAX_STRING:
            raise ValueError(f"a {n}-byte string")
        return self.read(n)

    def skip(self, n: int) -> None:
        self.handle.seek(n, 1)

    def value(self, vtype: int) -> object:
        if vtype == _STRING:
            return self.string()
        if vtype == _UINT32:
            return self.u32()
        if vtype in _SCALAR_SIZES:
            self.skip(_SCALAR_SIZES[vtype])
            return None
        if vtype == _ARRAY:
            etype, count = self.u32(), self.u64()
            if etype in _SCALAR_SIZES:
                self.skip(_SCALAR_SIZES[etype] * count)
            else:
                for _ in range(count):
                    self.value(etype)
            return None
        raise ValueError(f"unknown metadata type {vtype}")


def _describe_start(head: bytes) -> str:
    printable = head[:8].decode("latin-1")
    if head[:8].isascii() and printable.isprintable():
        return repr(printable)
    return " ".join(f"{b:02x}" for b in head[:8])


def check_gguf_file(path: Path) -> GGUFSummary:
    """Raise ``GGUFFileError`` unless ``path`` is a complete GGUF file; return its summary."""
    name = str(path)
    if not path.exists():
        raise GGUFFileError(f"The model file {name} does not exist. {FIX_HINT}")
    if not path.is_file():
        raise GGUFFileError(f"The model path {name} is not a file. {FIX_HINT}")
    try:
        size = path.stat().st_size
        if size == 0:
            raise GGUFFileError(
                f"The model file {name} is empty (0 bytes), probably an interrupted download "
                f"or copy. {FIX_HINT}"
            )
        with path.open("rb") as handle:
            head = handle.read(8)
            if head[:4] != GGUF_MAGIC:
                raise GGUFFileError(
                    f"{name} is not a GGUF model file (it starts with {_describe_start(head)}). "
                    f"{FIX_HINT}"
                )
            handle.seek(0)
            summary = _parse(_Reader(handle))
    except GGUFFileError:
        raise
    except _Truncated:
        raise GGUFFileError(
            f"The model file {name} is incomplete ({size} bytes, cut off inside its header), "
            f"probably an interrupted download or copy. {FIX_HINT}"
        ) from None
    except (ValueError, OverflowError) as exc:
        raise GGUFFileError(
            f"The model file {name} has a damaged GGUF header ({exc}). {FIX_HINT}"
        ) from None
    except OSError as exc:
        raise GGUFFileError(
            f"The model file {name} cannot be read ({exc.strerror or exc}). {FIX_HINT}"
        ) from None
    if size < summary.expected_size:
        raise GGUFFileError(
            f"The model file {name} is incomplete: it has {size:,} bytes but its header "
            f"describes {summary.expected_size:,}, probably an interrupted download or copy. "
            f"{FIX_HINT}"
        )
    return summary


def _parse(reader: _Reader) -> GGUFSummary:
    reader.read(4)  # magic, checked by the caller
    version = reader.u32()
    if version not in (2, 3):
        raise ValueError(f"unsupported GGUF version {version}")
    n_tensors, n_kv = reader.u64(), reader.u64()
    alignment = DEFAULT_ALIGNMENT
    for _ in range(n_kv):
        key = reader.string()
        value = reader.value(reader.u32())
        if key == b"general.alignment" and isinstance(value, int) and value > 0:
            alignment = value
    end_of_data = 0
    for _ in range(n_tensors):
        reader.string()
        n_dims = reader.u32()
        if n_dims > 8:
            raise ValueError(f"a tensor with {n_dims} dimensions")
        elements = 1
        for _ in range(n_dims):
            elements *= reader.u64()
        ggml_type, offset = reader.u32(), reader.u64()
        block, type_size = GGML_TYPE_SIZES.get(ggml_type, (1, 0))  # unknown type: offset only
        end_of_data = max(end_of_data, offset + elements // block * type_size)
    header_end = reader.handle.tell()
    data_offset = (header_end + alignment - 1) // alignment * alignment
    expected = data_offset + end_of_data if n_tensors else header_end
    return GGUFSummary(version, n_tensors, data_offset, expected)
