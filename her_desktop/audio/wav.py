"""Read any PCM/float WAV as float32 mono; write float32 as 16-bit PCM WAV.

Reading parses the RIFF chunks itself (stdlib ``wave`` refuses float and 24-bit extensible
files): PCM 8/16/24/32-bit, IEEE float 32/64-bit, WAVE_FORMAT_EXTENSIBLE with either.
"""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from her_desktop.audio.resample import FloatArray, clean

_PCM = 1
_FLOAT = 3
_EXTENSIBLE = 0xFFFE


class WavError(ValueError):
    """A file is not a WAV file this app can read; the message names the file and why."""


def _not_wav(path: Path, why: str) -> WavError:
    return WavError(f"not a WAV file: {path} ({why})")


def _chunks(data: bytes, path: Path) -> dict[bytes, bytes]:
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RIFX") or data[8:12] != b"WAVE":
        raise _not_wav(path, "it does not start with a RIFF/WAVE header")
    if data[:4] == b"RIFX":
        raise _not_wav(path, "big-endian RIFX is not supported; convert it to a normal WAV")
    chunks: dict[bytes, bytes] = {}
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        chunks.setdefault(chunk_id, body)
        pos += 8 + size + (size & 1)
    return chunks


def read_wav(path: str | Path) -> tuple[FloatArray, int]:
    """The file's samples as float32 mono in [-1, 1] and its sample rate."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WavError(f"cannot read {path}: {exc.strerror or exc}") from exc
    chunks = _chunks(data, path)
    fmt = chunks.get(b"fmt ")
    if fmt is None or len(fmt) < 16:
        raise _not_wav(path, "it has no format chunk")
    if b"data" not in chunks:
        raise _not_wav(path, "it has no data chunk")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        (tag,) = struct.unpack("<H", fmt[24:26])
    if channels < 1 or rate < 1 or bits < 8 or bits % 8:
        raise _not_wav(path, f"its format is invalid ({channels} channels, {rate} Hz, {bits} bit)")
    raw = chunks[b"data"]
    width = bits // 8
    frames = len(raw) // (width * channels)
    raw = raw[: frames * width * channels]
    samples: npt.NDArray[np.floating] | npt.NDArray[np.integer]
    if tag == _FLOAT and width in (4, 8):
        samples = np.frombuffer(raw, dtype=f"<f{width}")
    elif tag == _PCM and width in (1, 2, 4):
        samples = np.frombuffer(raw, dtype={1: "u1", 2: "<i2", 4: "<i4"}[width])
    elif tag == _PCM and width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        samples = ((b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)).astype(np.int32)
    else:
        raise _not_wav(path, f"encoding {tag:#x} with {bits} bits is not supported (PCM or float)")
    return clean(samples.reshape(frames, channels)), int(rate)


def write_wav(path: str | Path, samples: npt.ArrayLike, sample_rate: int) -> Path:
    """Write mono 16-bit PCM (input cleaned: mono, NaN → 0, clipped). Returns the path."""
    path = Path(path)
    x = clean(samples)
    pcm = np.round(x * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(sample_rate))
        out.writeframes(pcm.tobytes())
    return path
