"""Unpacking a repository tarball: only Python files, never outside the directory."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from devops_center.architecture.tarball import ArchiveError, extract_python
from tests.architecture import tree as fixture


def _tar(tmp_path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes]) -> Path:
    path = tmp_path / "a.tar.gz"
    with tarfile.open(path, mode="w:gz") as tar:
        for info in members:
            body = data.get(info.name)
            if body is not None:
                info.size = len(body)
            tar.addfile(info, io.BytesIO(body) if body is not None else None)
    return path


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def test_a_github_tarball_unpacks_its_python_files_under_its_top_directory(
    tmp_path: Path,
) -> None:
    archive = tmp_path / "repo.tar.gz"
    files = {**fixture.FILES, "README.md": "# hi\n", "docs/logo.png": "png"}
    archive.write_bytes(fixture.tarball(files))
    out = extract_python(archive, tmp_path / "out")
    assert out.root == (tmp_path / "out" / "acme-app-6dcb09b").resolve()
    assert (out.root / "src/shop/api.py").read_text() == fixture.FILES["src/shop/api.py"]
    assert not (out.root / "README.md").exists() and not (out.root / "docs").exists()
    assert out.files == len(fixture.FILES)


@pytest.mark.parametrize(
    "name",
    ["/etc/evil.py", "top/../../evil.py", "../evil.py", "top/..", "C:/evil.py", "top\\..\\x.py"],
)
def test_paths_that_leave_the_directory_refuse_the_archive(tmp_path: Path, name: str) -> None:
    archive = _tar(
        tmp_path, [_file("top/ok.py"), _file(name)], {"top/ok.py": b"x = 1\n", name: b"x"}
    )
    with pytest.raises(ArchiveError, match="refused"):
        extract_python(archive, tmp_path / "out")
    assert not (tmp_path / "evil.py").exists()


def test_links_and_special_files_are_never_created(tmp_path: Path) -> None:
    outside = tmp_path / "secret.py"
    outside.write_text("SECRET = 1\n")
    symlink = _file("top/link.py")
    symlink.type, symlink.linkname = tarfile.SYMTYPE, str(outside)
    hardlink = _file("top/hard.py")
    hardlink.type, hardlink.linkname = tarfile.LNKTYPE, "../secret.py"
    fifo = _file("top/pipe.py")
    fifo.type = tarfile.FIFOTYPE
    device = _file("top/dev.py")
    device.type = tarfile.CHRTYPE
    archive = _tar(
        tmp_path,
        [_file("top/ok.py"), symlink, hardlink, fifo, device],
        {"top/ok.py": b"import link\n"},
    )
    out = extract_python(archive, tmp_path / "out")
    assert sorted(p.name for p in out.root.iterdir()) == ["ok.py"]
    assert out.skipped == 4


def test_size_caps(tmp_path: Path) -> None:
    big = {"top/a.py": b"x = 1\n" * 100, "top/b.py": b"y = 2\n" * 100}
    archive = _tar(tmp_path, [_file("top/a.py"), _file("top/b.py")], big)
    with pytest.raises(ArchiveError, match="more than 1000 bytes"):
        extract_python(archive, tmp_path / "out", max_bytes=1000)
    with pytest.raises(ArchiveError, match="more than 1 Python files"):
        extract_python(archive, tmp_path / "out2", max_files=1)
    out = extract_python(archive, tmp_path / "out3", max_file_bytes=500)
    assert out.files == 0 and out.skipped == 2


def test_not_a_tarball(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(b"<html>not found</html>")
    with pytest.raises(ArchiveError, match="not a readable"):
        extract_python(archive, tmp_path / "out")
