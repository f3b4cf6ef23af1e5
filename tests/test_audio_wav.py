"""WAV files: read PCM 8/16/24/32-bit and float, write 16-bit, refuse garbage in plain words."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from her_desktop.audio.wav import WavError, read_wav, write_wav


def _riff(path: Path, tag: int, channels: int, rate: int, bits: int, data: bytes) -> Path:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"LIST" + struct.pack("<I", 3) + b"abc\0"  # an odd-sized chunk to skip
    body += b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    x = (0.5 * np.sin(np.arange(1600) / 10)).astype(np.float32)
    x[0] = np.nan
    path = write_wav(tmp_path / "out.wav", x, 16000)
    y, rate = read_wav(path)
    assert rate == 16000
    assert y.dtype == np.float32
    assert len(y) == 1600
    assert y[0] == 0.0
    assert np.allclose(y[1:], x[1:], atol=1 / 32000)


def test_reads_float32_stereo(tmp_path: Path) -> None:
    frames = np.array([[0.5, -0.5], [1.0, 0.0], [2.0, 2.0]], dtype="<f4")
    path = _riff(tmp_path / "f.wav", 3, 2, 48000, 32, frames.tobytes())
    y, rate = read_wav(path)
    assert rate == 48000
    assert y.tolist() == [0.0, 0.5, 1.0]


@pytest.mark.parametrize(
    ("bits", "data", "expected"),
    [
        (8, bytes([0, 128, 255]), [-1.0, 0.0, 127 / 128]),
        (16, struct.pack("<3h", -32768, 0, 16384), [-1.0, 0.0, 0.5]),
        (24, b"\x00\x00\x80" + b"\x00\x00\x00" + b"\x00\x00\x40", [-1.0, 0.0, 0.5]),
        (32, struct.pack("<3i", -(2**31), 0, 2**30), [-1.0, 0.0, 0.5]),
    ],
)
def test_reads_integer_pcm(tmp_path: Path, bits: int, data: bytes, expected: list[float]) -> None:
    y, _ = read_wav(_riff(tmp_path / "p.wav", 1, 1, 8000, bits, data))
    assert y.tolist() == pytest.approx(expected)


def test_reads_the_system_sounds_if_present() -> None:
    sample = Path("/usr/share/sounds/alsa/Front_Center.wav")
    if not sample.exists():
        pytest.skip("alsa-utils sounds not installed")
    y, rate = read_wav(sample)
    assert rate == 48000
    assert len(y) > rate // 2
    assert np.abs(y).max() > 0.1


def test_garbage_is_not_a_wav_file(tmp_path: Path) -> None:
    garbage = tmp_path / "song.mp3"
    garbage.write_bytes(b"ID3\x03\x00 definitely not a wav file")
    with pytest.raises(WavError, match=r"^not a WAV file: .*song\.mp3 \(it does not start"):
        read_wav(garbage)
    with pytest.raises(WavError, match="encoding 0x55"):
        read_wav(_riff(tmp_path / "mp3.wav", 0x55, 1, 8000, 16, b"\0\0"))
    with pytest.raises(WavError, match="cannot read"):
        read_wav(tmp_path / "missing.wav")
