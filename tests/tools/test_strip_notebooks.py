"""tools/strip_notebooks.py, and the check that no committed notebook carries outputs."""

from __future__ import annotations

import json

import pytest

from tools import strip_notebooks

COMMITTED = sorted(strip_notebooks.NOTEBOOK_DIR.glob("*.ipynb"))


def _executed_notebook() -> dict:
    """A notebook as nbclient leaves it: outputs, counts, timings, plus the author's tags."""
    return {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Title"]},
            {
                "cell_type": "code",
                "execution_count": 3,
                "metadata": {"tags": ["parameters"], "execution": {"iopub.status.busy": "x"}},
                "outputs": [{"output_type": "stream", "name": "stdout", "text": ["/home/me\n"]}],
                "source": ["SMOKE = False"],
            },
        ],
        "metadata": {"kernelspec": {"name": "python3"}, "widgets": {"state": {}}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.mark.parametrize("path", COMMITTED, ids=[path.name for path in COMMITTED])
def test_committed_notebooks_have_no_outputs_or_execution_counts(path):
    assert strip_notebooks.notebook_problems(strip_notebooks.read_notebook(path)) == []
    # Stored in the stripped layout too, so running the tool would not touch it.
    assert path.read_text(encoding="utf-8") == strip_notebooks.notebook_text(
        strip_notebooks.stripped(strip_notebooks.read_notebook(path))
    )


def test_strip_removes_what_a_run_wrote_and_keeps_source_and_tags(tmp_path, capsys):
    path = tmp_path / "run.ipynb"
    path.write_text(json.dumps(_executed_notebook()), encoding="utf-8")
    assert strip_notebooks.main(["--check", str(path)]) == 1
    report = capsys.readouterr().out
    assert "cell 2: 1 output(s), execution count 3, metadata 'execution'" in report

    assert strip_notebooks.main([str(path)]) == 0
    notebook = json.loads(path.read_text(encoding="utf-8"))
    code = notebook["cells"][1]
    assert code["outputs"] == [] and code["execution_count"] is None
    assert code["metadata"] == {"tags": ["parameters"]}
    assert code["source"] == ["SMOKE = False"]
    assert "widgets" not in notebook["metadata"]
    assert strip_notebooks.main(["--check", str(path)]) == 0
    assert strip_notebooks.strip_file(path) is False  # already clean: not rewritten


def test_a_file_that_is_not_a_notebook_is_named_in_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json", encoding="utf-8")
    assert strip_notebooks.main(["--check", str(path)]) == 2
    error = capsys.readouterr().err
    assert "broken.ipynb: cannot read notebook" in error and "Traceback" not in error
