"""`kser info` on a damaged data.tsv and without any corpus: one clear line, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys

from kser.cli import main
from tests.helpers import REPO_ROOT, make_nemo_directory


def _rewrite_line(table, number, edit):
    lines = table.read_text(encoding="utf-8").splitlines()
    lines[number - 1] = edit(lines[number - 1])
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_row_with_too_few_fields_is_named_by_its_line(tmp_path, capsys):
    root = make_nemo_directory(tmp_path / "nemo")
    # Columns: file_id emotion raw_text normalized_text speaker_id gender age.
    _rewrite_line(root / "data.tsv", 5, lambda line: "\t".join(line.split("\t")[:4]))
    assert main(["info", "--data", str(root)]) == 2
    assert capsys.readouterr().err == (
        f"kser info: error: {root / 'data.tsv'}: line 5 has 4 of the header's 7 fields "
        "(speaker_id, gender, age missing; fields are separated by tabs)\n"
    )


def test_a_row_with_an_empty_speaker_is_named_by_its_line(tmp_path, capsys):
    root = make_nemo_directory(tmp_path / "nemo")
    _rewrite_line(root / "data.tsv", 3, lambda line: line.replace("\t   F1\t", "\t \t"))
    assert main(["info", "--data", str(root)]) == 2
    assert capsys.readouterr().err == (
        f"kser info: error: {root / 'data.tsv'}: line 3 has an empty speaker_id\n"
    )


def test_without_data_info_says_where_it_looked_and_what_to_pass(tmp_path):
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("KSER_DATA", "HF_"))
    }
    environment.update(
        PYTHONPATH=str(REPO_ROOT),
        HF_HUB_OFFLINE="1",  # the hub answers at once instead of retrying for half a minute
        HF_HOME=str(tmp_path / "huggingface"),
    )
    finished = subprocess.run(
        [sys.executable, "-m", "kser.cli", "info"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 2
    error = finished.stderr.strip().splitlines()
    assert len(error) == 1
    assert error[0].startswith(
        "kser info: error: no corpus named and none found; tried $KSER_DATA (not set), "
        "./data/nemo (not a directory), then amu-cai/nEMO: cannot load Hugging Face dataset"
    )
    assert error[0].endswith(
        "Pass --data (a nEMO directory, a CSV file or a Hugging Face dataset name) "
        "or set $KSER_DATA"
    )
