"""``--output FILE`` never writes through a path the user did not give."""

from __future__ import annotations

import json
import os


def test_output_refuses_a_symlink_planted_at_the_path(cli, tmp_path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    planted = tmp_path / "shared" / "report.json"
    planted.parent.mkdir()
    planted.symlink_to(victim)
    result = cli("report", "balances", "--format", "json", "--output", str(planted))
    assert result.code == 2
    assert "is a symbolic link; refusing to write through it" in result.stderr
    assert victim.read_text() == "precious\n"
    assert planted.is_symlink()


def test_output_replaces_a_file_without_writing_into_its_hard_links(cli, tmp_path) -> None:
    other = tmp_path / "other-users-file"
    other.write_text("theirs\n")
    path = tmp_path / "report.json"
    os.link(other, path)
    result = cli("report", "balances", "--format", "json", "--output", str(path))
    assert result.code == 0, result.stderr
    assert json.loads(path.read_text()) == []
    assert other.read_text() == "theirs\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_output_into_a_missing_folder_is_a_clear_error(cli, tmp_path) -> None:
    result = cli("report", "balances", "--output", str(tmp_path / "nowhere" / "r.txt"))
    assert result.code == 2
    assert "No such file or directory" in result.stderr and "Traceback" not in result.stderr
