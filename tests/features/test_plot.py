"""`kser features plot`: one PNG with every representation of a clip."""

from __future__ import annotations

from matplotlib.image import imread

from kser.cli import main
from tests.helpers import tone, write_audio


def test_features_plot_writes_a_png_of_all_panels(tmp_path):
    audio = write_audio(tmp_path / "tone.wav", tone(440.0, 1.0, 16000))
    out = tmp_path / "plots" / "features.png"
    assert main(["features", "plot", str(audio), "-o", str(out)]) == 0
    image = imread(out)
    # 13 panels in two columns: a tall figure, and not a blank one.
    assert image.shape[0] > image.shape[1]
    assert image[..., :3].std() > 0.05


def test_features_plot_reports_a_missing_file(tmp_path, capsys):
    assert (
        main(["features", "plot", str(tmp_path / "absent.wav"), "-o", str(tmp_path / "x.png")]) == 2
    )
    assert "absent.wav" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
