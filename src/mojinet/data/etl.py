"""The ETL Character Database (AIST): ETL8B and ETL9B, read from a user's own copy.

The ETL files may not be redistributed (AIST gives them to registered users for research), so
mojinet cannot download them: put the files in a folder and pass it as ``data_dir``.

Record layout (ETL8B: ETL8B2C1…C3, 512-byte records; ETL9B: ETL9B_1…_5, 576-byte records),
big-endian, as documented by AIST's specification pages for ETL8 and ETL9
(etlcdb.db.aist.go.jp) and as read by the community readers (e.g. CaptainDario/
ETLCDB_data_reader, choo/etlcdb-image-extractor):

    bytes 0-1     serial sheet number            uint16
    bytes 2-3     JIS X 0208 code (row, cell)     2 × uint8, each 0x21..0x7E
    bytes 4-7     JIS typical reading             4 ASCII characters (e.g. ".HYO")
    bytes 8-511   image                           64 × 63 pixels, 1 bit each, rows of 8 bytes,
                                                  most significant bit first, 1 = ink
    bytes 512-575 (ETL9B only) unused

The first record of every file is a dummy and is skipped. The JIS code becomes Unicode through
Python's ISO-2022-JP codec (ESC $ B, row, cell, ESC ( B). Images get one blank row at the bottom
(64×64, square like every mojinet input) and ink = 255.

Split: by sheet — sheets whose serial number is a multiple of 5 are "test", the rest "train"
(so no sheet, and no handwriting on it, is in both); "all" is everything.

Non-goals: the other ETL parts (ETL1-7, ETL8G/9G with 4- and 16-level grey images).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import Dataset

WIDTH, HEIGHT = 64, 63
IMAGE_BYTES = WIDTH * HEIGHT // 8  # 504
TEST_SHEET_EVERY = 5

_HEAD = [("sheet", ">u2"), ("jis", "u1", (2,)), ("reading", "S4"), ("image", "u1", (IMAGE_BYTES,))]
RECORD_DTYPES = {
    "etl8b": np.dtype(_HEAD),                                   # 512 bytes
    "etl9b": np.dtype(_HEAD + [("unused", "u1", (64,))]),       # 576 bytes
}
FILE_NAMES = {
    "etl8b": ("ETL8B2C1", "ETL8B2C2", "ETL8B2C3"),
    "etl9b": ("ETL9B_1", "ETL9B_2", "ETL9B_3", "ETL9B_4", "ETL9B_5"),
}
DESCRIPTIONS = {
    "etl8b": "ETL8B: 956 JIS characters (881 kanji, 75 hiragana) by 160 writers, 64×63 "
             "bilevel; needs your own copy (--data-dir)",
    "etl9b": "ETL9B: 3,036 JIS characters (2,965 kanji, 71 hiragana) by 4,000 writers, 64×63 "
             "bilevel; needs your own copy (--data-dir)",
}
CREDIT = ("ETL Character Database, National Institute of Advanced Industrial Science and "
          "Technology (AIST), Japan (etlcdb.db.aist.go.jp). Used under AIST's terms for "
          "registered users; the files may not be redistributed.")


class ETLError(ValueError):
    """A file does not have the ETL8B/ETL9B record layout."""


def jis_to_char(row: int, cell: int) -> str:
    """A JIS X 0208 code (row byte, cell byte, each 0x21..0x7E) as a Unicode character."""
    if not (0x21 <= row <= 0x7E and 0x21 <= cell <= 0x7E):
        raise ETLError(f"JIS code 0x{row:02X}{cell:02X} is outside JIS X 0208 (0x2121-0x7E7E)")
    try:
        char = bytes([0x1B, 0x24, 0x42, row, cell, 0x1B, 0x28, 0x42]).decode("iso2022_jp")
    except UnicodeDecodeError as e:
        raise ETLError(f"JIS code 0x{row:02X}{cell:02X} is not a JIS X 0208 character") from e
    if len(char) != 1:
        raise ETLError(f"JIS code 0x{row:02X}{cell:02X} decodes to {char!r}, not one character")
    return char


def read_records(path: Path, part: str) -> np.ndarray:
    """All records of one file but the leading dummy, as a structured array."""
    dtype = RECORD_DTYPES[part]
    size = path.stat().st_size
    if size == 0 or size % dtype.itemsize:
        raise ETLError(f"{path}: {size:,} bytes is not a whole number of {part.upper()} records "
                       f"({dtype.itemsize} bytes each); is this an {part.upper()} file?")
    records = np.fromfile(path, dtype=dtype)
    return records[1:]  # the first record is a dummy


def decode_records(records: np.ndarray, where: str = "ETL file"):
    """(images uint8 (n, 64, 64) with ink 255, characters (n,) as str, sheets (n,))."""
    bits = np.unpackbits(records["image"], axis=1)  # (n, 4032), MSB first
    images = np.zeros((len(records), WIDTH, WIDTH), dtype=np.uint8)  # (n, 64, 64)
    images[:, :HEIGHT, :] = bits.reshape(-1, HEIGHT, WIDTH) * np.uint8(255)
    codes = records["jis"]  # (n, 2)
    lookup: dict[tuple[int, int], str] = {}
    chars = []
    for i, (row, cell) in enumerate(codes.tolist()):
        key = (row, cell)
        if key not in lookup:
            try:
                lookup[key] = jis_to_char(row, cell)
            except ETLError as e:
                raise ETLError(f"{where}, record {i + 1}: {e}") from e
        chars.append(lookup[key])
    return images, np.array(chars), records["sheet"].astype(np.int64)


def find_files(data_dir: Path, part: str) -> list[Path]:
    """The part's files in data_dir or data_dir/ETL8B (ETL9B); all must be there."""
    names = FILE_NAMES[part]
    for folder in (data_dir, data_dir / part.upper()):
        paths = [folder / n for n in names]
        if all(p.is_file() for p in paths):
            return paths
    found = [n for n in names
             if (data_dir / n).is_file() or (data_dir / part.upper() / n).is_file()]
    raise FileNotFoundError(
        f"{data_dir} does not hold the {part.upper()} files {', '.join(names)}"
        + (f" (found only {', '.join(found)})" if found else "")
        + f"; put them in that folder or in {data_dir / part.upper()}. The ETL database is "
        f"available to registered users from AIST (etlcdb.db.aist.go.jp) and cannot be "
        f"downloaded by mojinet."
    )


def load_etl(part: str, split: str, data_dir) -> Dataset:
    """A split of ETL8B or ETL9B from the user's files."""
    if data_dir is None:
        raise FileNotFoundError(f"{part} needs data_dir: the folder holding your "
                                f"{', '.join(FILE_NAMES[part])} files")
    images, chars, sheets = [], [], []
    for path in find_files(Path(data_dir), part):
        i, c, s = decode_records(read_records(path, part), str(path))
        images.append(i)
        chars.append(c)
        sheets.append(s)
    images = np.concatenate(images)  # (n, 64, 64)
    chars = np.concatenate(chars)  # (n,)
    sheets = np.concatenate(sheets)  # (n,)
    classes, labels = np.unique(chars, return_inverse=True)  # sorted by codepoint
    if split == "all":
        keep = np.ones(len(labels), dtype=bool)
    elif split in ("train", "test"):
        keep = (sheets % TEST_SHEET_EVERY == 0) == (split == "test")
    else:
        raise ValueError(f"{part} has splits train, test and all, not {split!r}")
    return Dataset.from_images(images[keep], labels[keep].astype(np.int64),
                               tuple(str(c) for c in classes), name=f"{part}-{split}")


def register() -> None:
    from .registry import register_dataset

    for part in ("etl8b", "etl9b"):
        def loader(split: str, data_dir=None, _part=part) -> Dataset:
            return load_etl(_part, split, data_dir)

        register_dataset(
            part, loader, credit=CREDIT, description=DESCRIPTIONS[part],
            splits=("train", "test", "all"), image_shape=(64, 64),
            n_classes=956 if part == "etl8b" else 3036, license="AIST terms (no redistribution)",
            homepage="http://etlcdb.db.aist.go.jp/", needs_data_dir=True, options=(),
        )
