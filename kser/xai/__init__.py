"""Explainability: what did a bundle listen to?

- `kser.xai.methods`: Grad-CAM, Grad-CAM++, SmoothGrad, integrated gradients,
  LIME on input regions, LRP (`kser.xai.lrp`), as maps of the model input's shape.
- `kser.xai.explainer`: a bundle and audio files in, maps per clip and method out.
- `kser.xai.faithfulness`: deletion and insertion curves and their AUCs.
- `kser.xai.report`: PNGs, `explanations.json` and an HTML page (`kser explain`).

Import from the modules (`from kser.xai.explainer import explain_files`): this
package itself imports nothing, so that `kser --help` stays fast.
"""
