"""The explanation methods' names, apart from their code: `kser --help` lists them without
importing Keras."""

METHODS = ("gradcam", "gradcam_pp", "saliency", "ig", "lime", "lrp", "lrp_ab")
DEFAULT_METHODS = ("gradcam", "saliency", "lime", "lrp", "ig")
