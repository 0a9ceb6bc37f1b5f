"""Reading the user's files with limits: regular files only, a size cap, UTF-8 text.

A path given in a file (a scenario's ``calibration``, a calibration's ``data`` or
``scenario``, an experiment's ``scenario`` or ``out``) is relative to the file that names
it and must stay inside that file's folder once ``..`` and symbolic links are resolved
(``data = "../../etc/shadow"`` is refused); a file shipped inside the package may reach
anywhere inside the package's bundled folder (``../posterior/el-salvador-A.toml``).
Absolute paths, and relative ones that leave the folder, are refused unless
:data:`ALLOW_ABSOLUTE_ENV` is set to 1. Every refusal is one ``file: key: reason`` line.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from trucesim.scenario.errors import ConfigError

#: Largest file read (scenario, calibration, experiment, observed data): 16 MB.
MAX_BYTES = 16 * 1024 * 1024
#: Set to 1 to allow absolute paths inside scenario, calibration and experiment files.
ALLOW_ABSOLUTE_ENV = "TRUCESIM_ALLOW_ABSOLUTE_PATHS"


def read_text(path: str | Path, max_bytes: int = MAX_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` (a leading BOM is dropped).

    Raises:
        ConfigError: ``path: reason`` when the file is missing, a folder, a device, pipe
            or socket, too large, unreadable or not UTF-8 text.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        hint = ""
        if path.suffix == ".toml" and len(path.parts) == 1:
            hint = f" (a bundled file is named without .toml: {path.stem})"
        raise ConfigError(str(path), "", f"no such file{hint}") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(str(path), "", "is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(str(path), "", "is not a regular file (a device, pipe or socket); "
                          "only regular files are read")
    if info.st_size > max_bytes:
        raise ConfigError(str(path), "", f"is {info.st_size / 2**20:.1f} MB; files above "
                          f"{max_bytes / 2**20:.0f} MB are refused")
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot be read: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise ConfigError(str(path), "", f"grew above {max_bytes / 2**20:.0f} MB while read")
    if b"\0" in data:
        raise ConfigError(str(path), "", "holds binary data (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "", f"not UTF-8 text (byte {exc.start})") from None


def _bundled_root() -> Path:
    return Path(__file__).resolve().parent.parent / "bundled"


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def named_path(spec: str, naming_file: str | Path, key: str) -> Path:
    """The path ``spec`` given at ``key`` of ``naming_file``, relative to that file's folder.

    The path, with ``..`` and symbolic links resolved, must lie inside the naming file's
    folder (for a file inside the package's bundled folder: inside that folder).

    Raises:
        ConfigError: for an absolute ``spec``, or one leaving that folder, unless
            :data:`ALLOW_ABSOLUTE_ENV` is set to 1.
    """
    p = Path(spec)
    allowed = os.environ.get(ALLOW_ABSOLUTE_ENV) == "1"
    if p.is_absolute():
        if not allowed:
            raise ConfigError(str(naming_file), key, f"{spec!r} is an absolute path; give it "
                              f"relative to this file (or set {ALLOW_ABSOLUTE_ENV}=1)")
        return p
    folder = Path(naming_file).parent
    if not allowed:
        home = folder.resolve()
        bundled = _bundled_root()
        root = bundled if _inside(home, bundled) else home
        if not _inside((folder / p).resolve(), root):
            raise ConfigError(str(naming_file), key, f"{spec!r} leads outside this file's "
                              f"folder ({home}); keep it inside (or set "
                              f"{ALLOW_ABSOLUTE_ENV}=1)")
    return folder / p


def named_output(spec: str, naming_file: str | Path, key: str) -> Path:
    """A results folder ``spec`` named at ``key`` of ``naming_file`` (an experiment's
    ``[execution] out``): relative to the current folder, as on the command line, and
    inside it once ``..`` and symbolic links are resolved.

    Raises:
        ConfigError: for an absolute ``spec``, or one leaving the current folder, unless
            :data:`ALLOW_ABSOLUTE_ENV` is set to 1.
    """
    p = Path(spec)
    if os.environ.get(ALLOW_ABSOLUTE_ENV) == "1":
        return p
    if p.is_absolute():
        raise ConfigError(str(naming_file), key, f"{spec!r} is an absolute path; give it "
                          f"relative to the current folder (or set {ALLOW_ABSOLUTE_ENV}=1; "
                          "--out on the command line is not limited)")
    here = Path.cwd().resolve()
    if not _inside(p.resolve(), here):
        raise ConfigError(str(naming_file), key, f"{spec!r} leads outside the current folder "
                          f"({here}); keep it inside (or set {ALLOW_ABSOLUTE_ENV}=1; --out on "
                          "the command line is not limited)")
    return p


def is_bare_name(spec: str | Path) -> bool:
    """True for a bundled-file name (``honduras-like-2013``): no folder, no ``.toml``."""
    p = Path(spec)
    return len(p.parts) == 1 and p.suffix != ".toml" and not str(spec).startswith(".")
