"""ETL8B / ETL9B reader, on records built here to AIST's documented layout (the real files may
not be redistributed)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from mojinet import load_dataset
from mojinet.data import etl
from mojinet.data.fetch import DataNotFound


def record(sheet: int, jis: int, bitmap: np.ndarray, reading: bytes = b".HYO",
           part: str = "etl8b") -> bytes:
    """One record: sheet (uint16 BE), JIS code (2 bytes), reading (4 ASCII), 64×63 bits
    (rows of 8 bytes, MSB first, 1 = ink), and for ETL9B 64 unused bytes."""
    assert bitmap.shape == (63, 64)
    bits = np.packbits(bitmap.astype(np.uint8)).tobytes()  # 504 bytes
    body = struct.pack(">HH4s", sheet, jis, reading) + bits
    assert len(body) == 512
    return body + (bytes(64) if part == "etl9b" else b"")


def etl_file(records: list[bytes], part: str = "etl8b") -> bytes:
    size = etl.RECORD_DTYPES[part].itemsize
    return bytes(size) + b"".join(records)  # the first record is a dummy


def stroke(rng) -> np.ndarray:
    return (rng.random((63, 64)) < 0.2).astype(np.uint8)


@pytest.mark.parametrize("row, cell, char", [
    (0x24, 0x22, "あ"), (0x30, 0x21, "亜"), (0x46, 0x7C, "日"), (0x4B, 0x5C, "本"),
    (0x25, 0x22, "ア"), (0x23, 0x41, "Ａ"),
])
def test_jis_codes_become_unicode(row, cell, char):
    assert etl.jis_to_char(row, cell) == char
    # EUC-JP is JIS X 0208 with the high bits set: an independent route to the same character.
    assert bytes([row | 0x80, cell | 0x80]).decode("euc_jp") == char


@pytest.mark.parametrize("row, cell", [(0x20, 0x21), (0x21, 0x7F), (0x00, 0x00)])
def test_codes_outside_jis_x_0208_are_refused(row, cell):
    with pytest.raises(etl.ETLError, match="outside JIS X 0208"):
        etl.jis_to_char(row, cell)


@pytest.mark.parametrize("part", ["etl8b", "etl9b"])
def test_records_decode_to_images_characters_and_sheet_split(tmp_path, rng, part):
    chars = {0x2422: "あ", 0x467C: "日", 0x4B5C: "本"}
    bitmaps, rows = {}, []
    for sheet in range(1, 11):  # sheets 5 and 10 are "test"
        for jis in chars:
            b = stroke(rng)
            bitmaps[(sheet, jis)] = b
            rows.append(record(sheet, jis, b, part=part))
    names = etl.FILE_NAMES[part]
    folder = tmp_path / part.upper()
    folder.mkdir()
    per_file = np.array_split(np.arange(len(rows)), len(names))
    for name, idx in zip(names, per_file, strict=True):
        (folder / name).write_bytes(etl_file([rows[i] for i in idx], part))

    everything = load_dataset(part, "all", data_dir=tmp_path)
    train = load_dataset(part, "train", data_dir=tmp_path)
    test = load_dataset(part, "test", data_dir=tmp_path)
    assert everything.classes == ("あ", "日", "本") == train.classes == test.classes
    assert everything.image_shape == (64, 64)
    assert (len(everything), len(train), len(test)) == (30, 24, 6)
    # Record order is kept; each image is the bitmap with ink = 1 and a blank 64th row.
    images = everything.images()
    for k, ((_sheet, jis), b) in enumerate(bitmaps.items()):
        assert everything.classes[everything.y[k]] == chars[jis]
        np.testing.assert_array_equal(images[k, :63], b.astype(np.float32))
        assert not images[k, 63].any()


def test_a_single_pixel_lands_where_the_format_says(tmp_path):
    b = np.zeros((63, 64), np.uint8)
    b[5, 9] = 1  # row 5, column 9: byte 5*8 + 1, bit 0b01000000
    raw = record(1, 0x2422, b)
    assert raw[8 + 5 * 8 + 1] == 0b0100_0000
    images, chars, sheets = etl.decode_records(
        np.frombuffer(raw, dtype=etl.RECORD_DTYPES["etl8b"]))
    assert np.argwhere(images[0]).tolist() == [[5, 9]] and images[0, 5, 9] == 255
    assert chars.tolist() == ["あ"] and sheets.tolist() == [1]


def test_wrong_record_size_is_a_clear_error(tmp_path):
    for name in etl.FILE_NAMES["etl8b"]:
        (tmp_path / name).write_bytes(bytes(576 * 3))  # ETL9B-sized records: not 512-multiples
    with pytest.raises(etl.ETLError, match="512 bytes each"):
        load_dataset("etl8b", "all", data_dir=tmp_path)


def test_bad_jis_code_names_the_file_and_record(tmp_path, rng):
    rows = [record(1, 0x2422, stroke(rng)), record(1, 0x7F7F, stroke(rng))]
    for name in etl.FILE_NAMES["etl8b"]:
        (tmp_path / name).write_bytes(etl_file(rows))
    with pytest.raises(etl.ETLError, match=r"ETL8B2C1, record 2"):
        load_dataset("etl8b", "all", data_dir=tmp_path)


def test_missing_files_say_where_to_put_them(tmp_path):
    (tmp_path / "ETL9B_1").write_bytes(bytes(576 * 2))
    with pytest.raises(FileNotFoundError) as e:
        load_dataset("etl9b", "all", data_dir=tmp_path)
    assert "ETL9B_2" in str(e.value) and "found only ETL9B_1" in str(e.value)


def test_etl_needs_a_data_dir(monkeypatch):
    monkeypatch.delenv("MOJINET_DATA_DIR", raising=False)
    with pytest.raises(DataNotFound, match="cannot be downloaded"):
        load_dataset("etl8b", "train")
