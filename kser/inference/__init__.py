"""Using a trained model: bundles, prediction, windowing and speaker adaptation.

`predictor` (prediction and windowing shared by trained bundles and exported
ones) needs numpy and soundfile only: `kser.runtime` serves exports with it
where TensorFlow is not installed. `bundle` (`Bundle`, `load_bundle`,
`save_bundle`) and `speaker_adaptation` add Keras.
"""
