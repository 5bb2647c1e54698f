"""`write_report`: the files of a run directory, their content, and a self-contained HTML."""

import base64
import csv
import io
import json
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from kser.errors import KserEvaluationError
from kser.evaluation import evaluate, write_report

HISTORY = {"loss": [1.2, 0.9, 0.7], "val_loss": [1.3, 1.0, 0.9], "val_uar": [0.3, 0.4, 0.45]}
VOID_ELEMENTS = {"meta", "img", "br", "hr", "link", "input"}


TITLE = "SER <run> & co"
METADATA = {"protocol": "speaker", "feature": "mel", "seed": np.int64(42)}
CLIP_IDS = [f"clips/{i}.flac" for i in range(8)]


@pytest.fixture(scope="module")
def result(hand_example):
    return evaluate(
        hand_example["y_true"],
        hand_example["y_prob"],
        hand_example["labels"],
        speakers=["s1", "s1", "s2", "s1", "s2", "s2", "s2", "s1"],
        n_bootstrap=50,
    )


@pytest.fixture(scope="module")
def full_run(result, tmp_path_factory):
    """One run directory written with every option; tests only read it."""
    run_dir = tmp_path_factory.mktemp("run") / "nested" / "run"
    written = write_report(
        result, run_dir, title=TITLE, metadata=METADATA, history=HISTORY, clip_ids=CLIP_IDS
    )
    return run_dir, written


class _StrictHTML(HTMLParser):
    """Records tags, checks every non-void element is closed in order, and collects images."""

    def __init__(self):
        super().__init__()
        self.open, self.images, self.errors, self.external = [], [], [], []
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        for name in ("src", "href"):
            if name in attrs and not attrs[name].startswith("data:"):
                self.external.append(attrs[name])
        if tag not in VOID_ELEMENTS:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open.pop() != tag:
            self.errors.append(f"unexpected </{tag}>")


def _parse_html(path):
    parser = _StrictHTML()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def test_writes_every_file(full_run):
    run_dir, written = full_run
    names = {path.name for path in written.values()}
    assert names == {
        "metrics.json",
        "report.md",
        "report.html",
        "predictions.csv",
        "confusion.png",
        "per_class.png",
        "reliability.png",
        "training_curves.png",
    }
    assert all(path.parent == run_dir and path.stat().st_size > 0 for path in written.values())
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(names)  # no temp files left


def test_no_training_curves_without_history(result, tmp_path):
    written = write_report(result, tmp_path, title="t")
    assert "training_curves" not in written
    assert not (tmp_path / "training_curves.png").exists()
    assert len(_parse_html(tmp_path / "report.html").images) == 3


def test_metrics_json_holds_metrics_and_metadata(result, full_run):
    record = json.loads((full_run[0] / "metrics.json").read_text())
    assert record["title"] == TITLE
    assert record["metadata"] == {"protocol": "speaker", "feature": "mel", "seed": 42}
    assert {key: record[key] for key in result.to_dict()} == json.loads(
        json.dumps(result.to_dict())
    )
    assert record["uar"] == pytest.approx(7 / 18)


def test_html_is_valid_and_self_contained(full_run):
    parser = _parse_html(full_run[0] / "report.html")
    assert parser.doctype.lower() == "doctype html"
    assert parser.errors == [] and parser.open == []
    assert parser.external == []
    assert len(parser.images) == 4
    for image in parser.images:
        prefix = "data:image/png;base64,"
        assert image["src"].startswith(prefix)
        png = base64.b64decode(image["src"][len(prefix) :], validate=True)
        with Image.open(io.BytesIO(png)) as decoded:
            assert decoded.format == "PNG"
            assert decoded.width > 100 and decoded.height > 100
    text = (full_run[0] / "report.html").read_text()
    assert "<title>SER &lt;run&gt; &amp; co</title>" in text
    assert "<td>mel</td>" in text
    assert "<td>0.3889</td>" in text  # UAR in the headline table


def test_embedded_images_are_the_written_pngs(full_run):
    run_dir = full_run[0]
    sources = [image["src"] for image in _parse_html(run_dir / "report.html").images]
    for name in ("per_class", "confusion", "reliability", "training_curves"):
        png = (run_dir / f"{name}.png").read_bytes()
        assert "data:image/png;base64," + base64.b64encode(png).decode() in sources


def test_markdown_report(full_run):
    text = (full_run[0] / "report.md").read_text()
    assert text.startswith(f"# {TITLE}\n")
    assert "| protocol | speaker |" in text
    assert "| UAR (macro recall) | 0.3889 |" in text
    for name in ("confusion", "per_class", "reliability", "training_curves"):
        assert f"]({name}.png)" in text


def test_predictions_csv_round_trips(full_run, hand_example):
    with (full_run[0] / "predictions.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    labels = hand_example["labels"]
    assert [row["clip_id"] for row in rows] == CLIP_IDS
    assert [row["true_label"] for row in rows] == [labels[k] for k in hand_example["y_true"]]
    assert [row["predicted_label"] for row in rows] == [labels[k] for k in hand_example["y_pred"]]
    assert rows[2]["speaker"] == "s2"
    probabilities = np.array([[float(row[f"p_{label}"]) for label in labels] for row in rows])
    np.testing.assert_array_equal(probabilities, hand_example["y_prob"])  # exact


def test_rewrite_replaces_files_and_clip_ids_default_to_the_results(result, hand_example, tmp_path):
    write_report(result, tmp_path, title="first")
    with (tmp_path / "predictions.csv").open(newline="") as file:
        assert [row["clip_id"] for row in csv.DictReader(file)] == [""] * 8  # no ids given
    with_ids = evaluate(
        hand_example["y_true"],
        hand_example["y_prob"],
        hand_example["labels"],
        clip_ids=[f"c{i}" for i in range(8)],
        n_bootstrap=0,
    )
    write_report(with_ids, tmp_path, title="second")
    assert json.loads((tmp_path / "metrics.json").read_text())["title"] == "second"
    with (tmp_path / "predictions.csv").open(newline="") as file:
        assert [row["clip_id"] for row in csv.DictReader(file)] == [f"c{i}" for i in range(8)]
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"metadata": {"model": object()}}, "metadata must be JSON-serialisable"),
        ({"metadata": {"lr": float("nan")}}, "metadata must be JSON-serialisable"),
        ({"clip_ids": ["a", "b"]}, "clip_ids has 2 entries but the result has 8"),
        ({"history": {"loss": ["high", "low"]}}, "history\\['loss'\\] must be a list of numbers"),
        ({"history": {"loss": []}}, "history\\['loss'\\] is empty"),
    ],
)
def test_bad_arguments_raise_before_anything_is_written(result, tmp_path, kwargs, message):
    with pytest.raises(KserEvaluationError, match=message):
        write_report(result, tmp_path / "run", title="t", **kwargs)
    assert not (tmp_path / "run" / "metrics.json").exists()
