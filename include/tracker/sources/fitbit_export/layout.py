"""Find the files of a Fitbit export, whatever its layout, without reading them.

Accepted inputs (see /work/shared/docs/sources.md §2.1):
- a Google Takeout zip, or its unpacked folder, rooted at `Takeout/Fitbit/…`, `Fitbit/…` or `Google Health/…`
  (files in `Global Export Data/` plus the `Heart Rate Variability/`, `Oxygen Saturation (SpO2)/` and
  `Sleep Score/` CSV folders);
- the older account export `MyFitbitData/<Name>/` (per-category folders `Physical Activity/`, `Sleep/`, …;
  same file formats).

Files are recognised by their folder name and file-name pattern, never by the folder's depth, so any of
these roots works (and a folder handed in one level up or down). The `*_GoogleData` trees re-encode the same
series as CSV and are never loaded (importing both would duplicate every sample); only
`Physical Activity_GoogleData/heart_rate_YYYY-MM-DD.csv` is indexed, to settle a heart-rate file's time zone.
Everything else is listed as unrecognised, grouped by name pattern, for the import summary.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import IO

# kind → (folders it may sit in, file-name pattern; a `day` group is the file's date)
_DAY = r"(?P<day>\d{4}-\d{2}-\d{2})"
PATTERNS: dict[str, tuple[frozenset[str], re.Pattern[str]]] = {
    "heart_rate": (frozenset({"Global Export Data", "Physical Activity"}),
                   re.compile(rf"heart_rate-{_DAY}\.json")),
    "resting_heart_rate": (frozenset({"Global Export Data", "Physical Activity"}),
                           re.compile(rf"resting_heart_rate-{_DAY}\.json")),
    "heart_rate_zones": (frozenset({"Global Export Data", "Physical Activity"}),
                         re.compile(rf"time_in_heart_rate_zones-{_DAY}\.json")),
    "sleep": (frozenset({"Global Export Data", "Sleep"}), re.compile(rf"sleep-{_DAY}\.json")),
    "sleep_score": (frozenset({"Sleep Score", "Sleep"}), re.compile(r"sleep_score\.csv")),
    "hrv_daily": (frozenset({"Heart Rate Variability"}),
                  re.compile(r"Daily Heart Rate Variability Summary - .+\.csv")),
    "spo2_daily": (frozenset({"Oxygen Saturation (SpO2)"}), re.compile(r"Daily SpO2 - .+\.csv")),
    "spo2_minute": (frozenset({"Oxygen Saturation (SpO2)"}), re.compile(r"Minute SpO2 - .+\.csv")),
    "steps": (frozenset({"Global Export Data", "Physical Activity"}), re.compile(rf"steps-{_DAY}\.json")),
    "exercise": (frozenset({"Global Export Data", "Physical Activity"}), re.compile(r"exercise-\d+\.json")),
    "respiratory_rate_daily": (frozenset({"Heart Rate Variability", "Sleep"}),
                               re.compile(r"Daily Respiratory Rate Summary - .+\.csv")),
}
KINDS = tuple(PATTERNS)
GOOGLE_HR_FOLDER = "Physical Activity_GoogleData"
GOOGLE_HR = re.compile(rf"heart_rate_{_DAY}\.csv")
# folders that mark the root of one export (the folder above them)
_ROOT_MARKERS = {"Global Export Data", "Physical Activity", "Sleep", "Heart Rate Variability",
                 "Oxygen Saturation (SpO2)", "Sleep Score"}
_JUNK = {".DS_Store", "Thumbs.db"}


# A member larger than this, or inflating more than MAX_RATIO times (above RATIO_FLOOR bytes), is refused
# before anything is read: a zip bomb. Fitbit's pretty-printed JSON compresses ≈ 17:1.
MAX_MEMBER_BYTES = 512 << 20
MAX_RATIO = 200
RATIO_FLOOR = 1 << 20
READ_CHUNK = 1 << 20


class LayoutError(ValueError):
    """The path is not a Fitbit export Tracker can read (with the reason)."""


class MemberError(LayoutError):
    """One file of the export cannot be read (a corrupt zip member, an I/O error): it alone is skipped."""


def unsafe_name(name: str) -> bool:
    """An absolute member name, a drive letter, a backslash or a `..` part: never a file of this export."""
    path = PurePosixPath(name)
    return name.startswith(("/", "\\")) or "\\" in name or ".." in path.parts or \
        (len(name) > 1 and name[1] == ":")


def _check_name(info: zipfile.ZipInfo) -> None:
    if unsafe_name(info.filename):
        raise LayoutError(f"refusing the zip: member {info.filename!r} has an unsafe name (absolute or '..')")


def _check_size(info: zipfile.ZipInfo) -> None:
    """For the members that will be read (the others never are, whatever their size)."""
    if info.file_size > MAX_MEMBER_BYTES:
        raise LayoutError(f"refusing the zip: member {info.filename!r} inflates to {info.file_size:,} bytes "
                          f"(more than {MAX_MEMBER_BYTES:,})")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise LayoutError(f"refusing the zip: member {info.filename!r} inflates {info.file_size:,} bytes from "
                          f"{info.compress_size:,} (more than {MAX_RATIO}:1, a zip bomb?)")


class _Guarded(io.RawIOBase):
    """A member's byte stream that stops at MAX_MEMBER_BYTES and turns read errors into MemberError."""

    def __init__(self, raw: IO[bytes], name: str) -> None:
        self._raw, self._name, self._read = raw, name, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            n = self._raw.readinto(buffer)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise MemberError(f"{self._name}: unreadable ({exc})") from None
        self._read += n or 0
        if self._read > MAX_MEMBER_BYTES:
            raise MemberError(f"{self._name}: larger than {MAX_MEMBER_BYTES:,} bytes, not read")
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


@dataclass(frozen=True)
class ExportFile:
    """One file of the export: where it is (relative to the input) and what it holds."""

    path: str                 # POSIX path inside the zip / below the folder given
    kind: str
    day: date | None = None   # from the file name, when it carries one
    size: int = 0
    crc: int | None = None    # the zip's stored CRC-32 (folders: computed when needed)

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


@dataclass
class ExportLayout:
    """The files of one export, by kind, sorted by name; plus what is ignored and what is unknown."""

    source: Path
    is_zip: bool
    roots: list[str]
    files: dict[str, list[ExportFile]] = field(default_factory=dict)
    google_heart_rate: dict[date, ExportFile] = field(default_factory=dict)
    ignored_google_data: int = 0
    unrecognised: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)   # symbolic links in a folder: never followed
    _zip: zipfile.ZipFile | None = None

    def of(self, kind: str) -> list[ExportFile]:
        return self.files.get(kind, [])

    def counts(self) -> Counter[str]:
        return Counter({k: len(v) for k, v in self.files.items() if v})

    def unrecognised_groups(self) -> Counter[str]:
        """Unrecognised files grouped by name pattern (digits → #): `steps-####-##-##.json: 40`."""
        return Counter(re.sub(r"\d", "#", PurePosixPath(p).name) for p in self.unrecognised)

    def _open(self, f: ExportFile) -> _Guarded:
        try:
            raw = self._zip.open(f.path) if self._zip is not None else open(self.source / f.path, "rb")  # noqa: SIM115
        except (zipfile.BadZipFile, zlib.error, OSError) as exc:
            raise MemberError(f"{f.path}: unreadable ({exc})") from None
        return _Guarded(raw, f.path)

    def read_bytes(self, f: ExportFile) -> bytes:
        """The whole file (streamed in chunks, capped at MAX_MEMBER_BYTES); MemberError if it cannot be read."""
        with self._open(f) as raw:
            chunks = []
            while chunk := raw.read(READ_CHUNK):
                chunks.append(chunk)
        return b"".join(chunks)

    @contextmanager
    def open_text(self, f: ExportFile) -> Generator[IO[str], None, None]:
        """A text stream (UTF-8, BOM tolerated, universal newlines off for the csv module)."""
        with io.TextIOWrapper(io.BufferedReader(self._open(f), READ_CHUNK), encoding="utf-8-sig",
                              newline="") as text:
            yield text

    def fingerprint(self, f: ExportFile, data: bytes | None = None) -> str:
        """size + CRC-32 of the content: the same file gives the same value from a zip and from a folder."""
        crc = f.crc if f.crc is not None else zlib.crc32(data if data is not None else self.read_bytes(f))
        return f"{f.size}:{crc:08x}"

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None


def classify(path: str) -> tuple[str, date | None]:
    """('heart_rate', day) …, ('google_heart_rate', day), ('google_data', None) or ('unrecognised', None)."""
    parts = PurePosixPath(path).parts
    name, folder = parts[-1], (parts[-2] if len(parts) > 1 else "")
    if any(p.endswith("_GoogleData") for p in parts[:-1]):
        if folder == GOOGLE_HR_FOLDER and (m := GOOGLE_HR.fullmatch(name)):
            return "google_heart_rate", date.fromisoformat(m["day"])
        return "google_data", None
    for kind, (folders, pattern) in PATTERNS.items():
        if folder in folders and (m := pattern.fullmatch(name)):
            day = m.groupdict().get("day")
            try:
                return kind, date.fromisoformat(day) if day else None
            except ValueError:
                return "unrecognised", None
    return "unrecognised", None


def _root_of(path: str) -> str | None:
    parts = PurePosixPath(path).parts
    for i, part in enumerate(parts[:-1]):
        if part in _ROOT_MARKERS:
            return "/".join(parts[:i])
    return None


def _walk_folder(folder: Path, links: list[str]) -> Iterator[tuple[str, int, int | None]]:
    """Files below folder; symbolic links (to files or folders) are listed in links, never followed."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        links.extend(Path(dirpath, d).relative_to(folder).as_posix() for d in dirnames
                     if Path(dirpath, d).is_symlink())
        for name in sorted(filenames):
            full = Path(dirpath, name)
            if full.is_symlink():
                links.append(full.relative_to(folder).as_posix())
                continue
            yield full.relative_to(folder).as_posix(), full.lstat().st_size, None


def scan(path: str | Path) -> ExportLayout:
    """Index an export (zip or folder). Raises LayoutError when nothing Fitbit-like is found."""
    source = Path(path)
    if not source.exists():
        raise LayoutError(f"{source} does not exist")
    archive = None
    links: list[str] = []
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise LayoutError(f"{source} is neither a folder nor a zip archive")
        try:
            archive = zipfile.ZipFile(source)
            members = [i for i in archive.infolist() if not i.is_dir()]
            for info in members:
                _check_name(info)
        except (zipfile.BadZipFile, LayoutError) as exc:
            if archive is not None:
                archive.close()
            raise LayoutError(str(exc) if isinstance(exc, LayoutError) else f"{source}: not a readable zip "
                              f"({exc})") from None
        entries = ((i.filename, i.file_size, i.CRC) for i in members)
        infos = {i.filename: i for i in members}
    else:
        entries = _walk_folder(source, links)
    layout = ExportLayout(source=source, is_zip=archive is not None, roots=[], links=links, _zip=archive)
    roots: set[str] = set()
    for rel, size, crc in entries:
        if PurePosixPath(rel).name in _JUNK or "__MACOSX" in PurePosixPath(rel).parts:
            continue
        kind, day = classify(rel)
        if archive is not None and kind not in {"google_data", "unrecognised"}:
            try:
                _check_size(infos[rel])
            except LayoutError:
                layout.close()
                raise
        if kind == "google_heart_rate" and day is not None:
            layout.google_heart_rate[day] = ExportFile(rel, kind, day, size, crc)
            layout.ignored_google_data += 1
        elif kind == "google_data":
            layout.ignored_google_data += 1
        elif kind == "unrecognised":
            layout.unrecognised.append(rel)
        else:
            layout.files.setdefault(kind, []).append(ExportFile(rel, kind, day, size, crc))
            if (root := _root_of(rel)) is not None:
                roots.add(root)
    layout.roots = sorted(roots)
    if not layout.files:
        layout.close()
        raise LayoutError(f"no Fitbit export files found in {source} (looked for `Global Export Data`, "
                          "`Physical Activity`, `Sleep`, `Heart Rate Variability`, `Oxygen Saturation (SpO2)` "
                          "and `Sleep Score` folders)")
    # two exports in one input would load the same days twice under different roots
    by_name: dict[tuple[str, str], list[str]] = {}
    for kind, files in layout.files.items():
        files.sort(key=lambda f: (f.name, f.path))
        for f in files:
            by_name.setdefault((kind, f.name), []).append(f.path)
    clashes = [paths for paths in by_name.values() if len(paths) > 1]
    if clashes:
        layout.close()
        raise LayoutError(f"{source} holds more than one export ({len(clashes)} files appear twice, e.g. "
                          f"{clashes[0][0]!r} and {clashes[0][1]!r}): import each export separately")
    return layout
