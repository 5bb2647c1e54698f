"""An attack sweep's numbers (JSON), curves and perturbation images (PNG) and audio (WAV).

<out>/attack.json          clean and attacked scores per eps, per-class recall,
                           the eps that halves clean UAR, SNR (waveform domain),
                           Griffin-Lim reconstruction errors (feature domain)
<out>/curves.png           UAR / accuracy / per-class recall against eps
<out>/perturbation.png     clean vs adversarial inputs of the first clips, largest eps
<out>/audio/*.wav          waveform domain: clean and adversarial clips;
                           feature domain (mel, stft): Griffin-Lim of both
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import soundfile

from kser.adversarial.griffin_lim import INVERTIBLE_FEATURES, spectrogram_to_audio
from kser.adversarial.waveform import amplitude_dbfs
from kser.paths import atomic_write_bytes, atomic_write_json

FEATURE_UNITS = "normalized-feature std units"
WAVEFORM_UNITS = "sample amplitude, full scale 1.0"


def sweep_summary(sweep, *, bundle=None, corpus=None, part=None) -> dict:
    """The JSON record of `sweep` (`kser.adversarial.sweep.AttackSweep`)."""
    clean = sweep.clean
    points = []
    for point in sweep.points:
        record = {
            "method": point.attack.method,
            "eps": point.attack.eps,
            **_scores(point.result),
            "mean_loss": point.mean_loss,
            "linf": point.linf,
        }
        if point.attack.method == "pgd":
            record.update(steps=point.attack.steps, step_size=point.attack.pgd_step_size)
        if point.snr_db is not None:
            finite = point.snr_db[np.isfinite(point.snr_db)]
            record.update(
                eps_dbfs=amplitude_dbfs(point.attack.eps),
                snr_db_mean=_float(finite.mean()) if len(finite) else None,
                snr_db_median=_float(np.median(finite)) if len(finite) else None,
                snr_db_min=_float(finite.min()) if len(finite) else None,
                example_snr_db={
                    Path(sweep.clean.clip_ids[k]).stem: _float(point.snr_db[k])
                    for k in sweep.example_positions
                },
            )
        points.append(record)
    summary = {
        "bundle": None if bundle is None or bundle.directory is None else str(bundle.directory),
        "corpus": None if corpus is None else str(corpus.source),
        "part": part,
        "domain": sweep.domain,
        "eps_units": FEATURE_UNITS if sweep.domain == "feature" else WAVEFORM_UNITS,
        "speaker_adaptation": False,
        "n_clips": int(clean.n),
        "clean": {**_scores(clean), "mean_loss": sweep.clean_loss},
        "attacks": points,
        "halving_eps": {
            method: halving_eps(clean.uar, [p for p in points if p["method"] == method])
            for method in dict.fromkeys(p["method"] for p in points)
        },
    }
    summary["pgd_at_least_as_strong"] = _pgd_check(points, "uar", lower_is_stronger=True)
    summary["pgd_loss_at_least_as_high"] = _pgd_check(points, "mean_loss", lower_is_stronger=False)
    return summary


def halving_eps(clean_uar: float, points: list[dict]) -> dict:
    """The first tested eps at which UAR falls to half of `clean_uar` or below, and that
    eps interpolated linearly in log-eps between the two tested points around it.

    `bracketed` is False when the smallest tested eps already halves UAR: the
    halving eps is then at most that (and `interpolated` is None).
    """
    target = clean_uar / 2
    ordered = sorted((p for p in points if p["eps"] > 0), key=lambda p: p["eps"])
    previous_eps, previous_uar = None, clean_uar
    for point in ordered:
        if point["uar"] <= target:
            interpolated = None
            if previous_eps is not None:
                share = (previous_uar - target) / (previous_uar - point["uar"])
                low, high = math.log10(previous_eps), math.log10(point["eps"])
                interpolated = 10 ** (low + share * (high - low))
            return {
                "target_uar": target,
                "first_tested": point["eps"],
                "interpolated": interpolated,
                "bracketed": previous_eps is not None,
            }
        previous_eps, previous_uar = point["eps"], point["uar"]
    return {"target_uar": target, "first_tested": None, "interpolated": None, "bracketed": False}


def write_outputs(sweep, summary: dict, bundle, out_dir, *, griffin_lim: bool = True) -> dict:
    """Write the figures and WAVs of `sweep` into `out_dir`, then `attack.json`; returns
    `summary` with the Griffin-Lim record added (feature domain, mel or stft)."""
    from kser.adversarial.plots import curves_png, perturbation_png

    out_dir = Path(out_dir)
    atomic_write_bytes(out_dir / "curves.png", curves_png(summary))
    names = [Path(sweep.clean.clip_ids[k]).stem for k in sweep.example_positions]
    strongest = max(sweep.points, key=lambda p: (p.attack.eps, p.attack.method == "pgd"))
    clean_inputs, adversarial_inputs = sweep.clean_examples, sweep.examples[strongest.attack]
    if sweep.domain == "waveform":
        chain = sweep.context["chain"]
        positions = sweep.example_positions
        clean_inputs = np.asarray(chain.normalized_features(clean_inputs, positions))
        adversarial_inputs = np.asarray(chain.normalized_features(adversarial_inputs, positions))
        _write_waveform_audio(sweep, bundle, names, out_dir / "audio")
    elif griffin_lim and _invertible(bundle):
        summary["griffin_lim"] = _write_griffin_lim(sweep, bundle, names, out_dir / "audio")
    title = (
        f"{strongest.attack.method} eps={strongest.attack.eps:g} ({summary['eps_units']}); "
        "model inputs (normalized features)"
    )
    atomic_write_bytes(
        out_dir / "perturbation.png",
        perturbation_png(clean_inputs, adversarial_inputs, names, title),
    )
    atomic_write_json(out_dir / "attack.json", summary)
    return summary


def format_summary(summary: dict) -> str:
    """The terminal table: one line per attack, clean first."""
    units = summary["eps_units"]
    lines = [
        f"{summary['domain']} attack, eps in {units}, {summary['n_clips']} clips "
        "(scores without speaker adaptation)",
        f"{'method':6}  {'eps':>9}  {'UAR':>6}  {'acc':>6}  {'loss':>7}  extra",
    ]
    clean = summary["clean"]
    lines.append(
        f"{'clean':6}  {0:9g}  {clean['uar']:6.3f}  {clean['accuracy']:6.3f}  "
        f"{clean['mean_loss']:7.3f}"
    )
    for point in summary["attacks"]:
        extra = ""
        if "snr_db_mean" in point:
            extra = f"{point['eps_dbfs']:.0f} dBFS, SNR {point['snr_db_mean']:.1f} dB"
        lines.append(
            f"{point['method']:6}  {point['eps']:9g}  {point['uar']:6.3f}  "
            f"{point['accuracy']:6.3f}  {point['mean_loss']:7.3f}  {extra}"
        )
    for method, halving in summary["halving_eps"].items():
        if halving["first_tested"] is None:
            text = "not reached"
        elif not halving["bracketed"]:
            text = f"at most {halving['first_tested']:g} (the smallest tested)"
        else:
            text = f"{halving['interpolated']:.3g} (first tested {halving['first_tested']:g})"

        lines.append(f"{method}: eps halving clean UAR ({halving['target_uar']:.3f}): {text}")
    if summary["pgd_loss_at_least_as_high"] is not None:
        lines.append(
            "PGD loss at least FGSM's at every eps: " + str(summary["pgd_loss_at_least_as_high"])
        )
    if summary["pgd_at_least_as_strong"] is not None:
        lines.append(
            f"PGD at least as strong as FGSM at every eps: {summary['pgd_at_least_as_strong']}"
        )
    return "\n".join(lines)


def _scores(result) -> dict:
    return {
        "uar": result.uar,
        "accuracy": result.accuracy,
        "macro_f1": result.macro_f1,
        "uar_ci": list(result.uar_ci) if result.uar_ci else None,
        "per_class_recall": {label: values["recall"] for label, values in result.per_class.items()},
    }


def _pgd_check(points: list[dict], key: str, *, lower_is_stronger: bool):
    """Whether PGD's `key` is at least as strong as FGSM's at every eps both were run at
    (None: not both). PGD maximizes the loss, so its loss is the sharper check; UAR counts
    clips, and one clip either way can flip it where both attacks are nearly optimal."""
    fgsm = {p["eps"]: p[key] for p in points if p["method"] == "fgsm"}
    pgd = {p["eps"]: p[key] for p in points if p["method"] == "pgd"}
    shared = sorted(set(fgsm) & set(pgd))
    if not shared:
        return None
    if lower_is_stronger:
        return all(pgd[eps] <= fgsm[eps] for eps in shared)
    return all(pgd[eps] >= fgsm[eps] for eps in shared)


def _invertible(bundle) -> bool:
    # Griffin-Lim needs raw dB back from normalized inputs: per-clip statistics would move
    # with the perturbation itself.
    return bundle.extractor.name in INVERTIBLE_FEATURES and bundle.normalizer.first_stage != "clip"


def _write_waveform_audio(sweep, bundle, names, directory: Path) -> None:
    for k, name in enumerate(names):
        _write_wav(directory / f"clean-{name}.wav", sweep.clean_examples[k], bundle.sample_rate)
        for attack, adversarial in sweep.examples.items():
            stem = f"{attack.method}-eps{attack.eps:g}-{name}"
            _write_wav(directory / f"{stem}.wav", adversarial[k], bundle.sample_rate)


def _write_griffin_lim(sweep, bundle, names, directory: Path) -> dict:
    """Griffin-Lim audio of the first clips, clean and adversarial, and its own error."""
    from kser.training.augmented_batches import _fixed_normalization

    raw = sweep.context["raw_features"]
    normalize = _fixed_normalization(bundle.normalizer, raw, sweep.context["speakers"])
    positions = sweep.example_positions
    clean_raw = raw[positions]
    # Normalization with fixed statistics is affine in each bin: its slope maps the
    # perturbation of the model's input back to dB.
    slope = np.asarray(normalize(clean_raw + 1.0, positions)) - np.asarray(
        normalize(clean_raw, positions)
    )
    clean_normalized = np.asarray(normalize(clean_raw, positions))

    def reconstruct(features_db, stem):
        audio = np.stack(
            [
                spectrogram_to_audio(bundle.extractor, clip, bundle.clip_samples)
                for clip in features_db
            ]
        )
        for k, name in enumerate(names):
            _write_wav(directory / f"{stem}-{name}.wav", audio[k], bundle.sample_rate)
        again = bundle._extract(audio)
        again_normalized = np.asarray(normalize(again, positions))
        logits = bundle.model.predict(again_normalized, verbose=0)
        return {
            "feature_error_db": _float(np.mean(np.abs(again - features_db))),
            "feature_error_std_units": _float(
                np.mean(np.abs(again_normalized - np.asarray(normalize(features_db, positions))))
            ),
            "predicted": [bundle.labels[i] for i in np.argmax(logits, axis=1)],
        }

    record = {
        "clips": names,
        "iterations_note": "librosa Griffin-Lim, 32 iterations, random phase seeded",
        "clean": reconstruct(clean_raw, "griffin-lim-clean"),
        "clean_predicted_from_features": _predicted(bundle, clean_normalized),
        "attacks": [],
    }
    for attack, adversarial in sweep.examples.items():
        adversarial_raw = clean_raw + (adversarial - clean_normalized) / slope
        entry = reconstruct(adversarial_raw, f"griffin-lim-{attack.method}-eps{attack.eps:g}")
        entry.update(
            method=attack.method,
            eps=attack.eps,
            predicted_from_features=_predicted(bundle, adversarial),
        )
        record["attacks"].append(entry)
    return record


def _predicted(bundle, normalized) -> list[str]:
    logits = bundle.model.predict(normalized, verbose=0)
    return [bundle.labels[i] for i in np.argmax(logits, axis=1)]


def _write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    buffer = io.BytesIO()
    # 32-bit float: 16-bit PCM would round away perturbations below -90 dBFS.
    soundfile.write(
        buffer, np.asarray(samples, dtype=np.float32), sample_rate, format="WAV", subtype="FLOAT"
    )
    atomic_write_bytes(path, buffer.getvalue())


def _float(value):
    value = float(value)
    return value if math.isfinite(value) else None
