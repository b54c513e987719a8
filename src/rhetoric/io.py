"""The one reader of input files, the one writer of outputs, and the small formats stages exchange.

Reading: `read_input_bytes` opens only regular files (no symlink followed, no FIFO, device
or folder), without blocking, and reads at most its limit (a bounded read: `stat()` can
lie, e.g. for /proc files or a file growing while read). `decode_text` accepts UTF-8 (with
or without BOM) and UTF-16 with a BOM, the form Windows tools write.

Writing: every output goes to a temporary file in the same folder and is renamed into
place, so a stage killed mid-write leaves the previous output intact. A target that exists
and is not a regular file (a device such as /dev/null, a folder) is refused rather than
replaced. Our own code because the standard library has the primitives (O_NOFOLLOW,
O_NONBLOCK, fstat, os.replace) but no function combining them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rhetoric.errors import DataError

if TYPE_CHECKING:  # pandas is imported by its callers; `rhetoric predict` starts without it
    import pandas as pd

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | os.O_CLOEXEC
_KINDS = {
    stat.S_ISDIR: "a folder",
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
    stat.S_ISLNK: "a symbolic link",
}


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS.items() if test(mode)), "not a regular file")


def read_input_bytes(path: str | Path, limit: int, limit_name: str = "") -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them, or a one-line DataError.

    A symbolic link (even a dangling one), FIFO, device, socket or folder is refused: only a
    file the user put there is read, and a read never blocks or runs past the limit."""
    path = Path(path)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file.") from None
    except OSError as error:
        if os.path.islink(path):
            raise DataError(
                f"{path}: is a symbolic link; rhetoric reads only regular files. "
                "Copy the file itself there instead."
            ) from None
        raise DataError(f"{path}: cannot be read ({error.strerror}).") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise DataError(
                f"{path}: is {_kind(mode)}, not a regular file; rhetoric reads only regular files. "
                "Remove or rename it."
            )
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror}).") from None
    finally:
        os.close(fd)
    if total > limit:
        hint = f" ({limit_name}); cut it into smaller files or raise the limit" if limit_name else ""
        raise DataError(f"{path}: more than {limit:,} bytes, over the limit{hint}.")
    return b"".join(chunks)


def decode_text(raw: bytes, path: str | Path) -> str:
    """Text of an input file: UTF-16 with a BOM, or UTF-8 (a BOM is dropped); a DataError
    names the file and the line of the first undecodable byte."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as error:
            raise DataError(
                f"{path}: has a UTF-16 byte order mark but is not valid UTF-16 at byte offset "
                f"{error.start}; re-save it as UTF-8."
            ) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise DataError(
            f"{path}: not valid UTF-8 at byte offset {error.start} (line {line}, "
            f"byte 0x{raw[error.start]:02x}). Re-encode it, e.g. "
            f"`iconv -f WINDOWS-1252 -t UTF-8 {path} -o {path}.utf8`, and replace the file."
        ) from None


# Label files, JSONL inputs, labeling-tool exports: read whole, so bounded too.
TABLE_LIMIT = 256 * 1024 * 1024


def read_input_text(path: str | Path, limit: int = TABLE_LIMIT, limit_name: str = "") -> str:
    """`read_input_bytes` then `decode_text`: the one way rhetoric reads a text input."""
    return decode_text(read_input_bytes(path, limit, limit_name), path)


def text_lines(text: str) -> list[str]:
    """Lines split at \\n only (a \\r before it dropped): JSON strings may hold U+2028 and
    other characters `str.splitlines` would split at."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def check_output_target(path: str | Path, inputs: Iterable[str | Path] = (), folder: bool = False) -> None:
    """Refuse an output path that would replace something other than an output: an existing
    device, FIFO or (for a file output) folder, or one of the command's own input files."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None:
        wanted = stat.S_ISDIR if folder else stat.S_ISREG
        if not wanted(mode):
            expected = "a folder" if folder else "a file"
            raise DataError(
                f"{path}: exists and is {_kind(mode)}; an output must be {expected} rhetoric may "
                "replace. Name another path."
            )
        for source in inputs:
            with contextlib.suppress(OSError):
                if os.path.samefile(path, source):
                    raise DataError(
                        f"{path}: is also an input of this command; writing it would overwrite "
                        "the input. Name another output path."
                    )


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only on success."""
    path = Path(path)
    check_output_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600; outputs are ordinary files
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a file for writing that appears at `path` only once closed successfully."""
    with atomic_path(path) as tmp:
        encoding = None if "b" in mode else "utf-8"
        with open(tmp, mode, encoding=encoding, newline=None if "b" in mode else "\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE), so no moment exists
    when `b` is missing; False where the system cannot, and the caller renames twice."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside `path`; it replaces `path` only on success."""
    path = Path(path)
    check_output_target(path, folder=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield work
        os.chmod(work, 0o777 & ~_current_umask())
        if not path.exists():
            os.replace(work, path)
        elif _exchange(work, path):
            shutil.rmtree(work)  # now the previous folder
        else:
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(work, path)
            shutil.rmtree(old)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: str | Path, obj: Any) -> None:
    with atomic_open(path) as handle:
        json.dump(obj, handle, indent=2, ensure_ascii=False, sort_keys=True)
        handle.write("\n")


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as JSON lines atomically; return how many were written."""
    count = 0
    with atomic_open(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_parquet(path: str | Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def write_csv(path: str | Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
