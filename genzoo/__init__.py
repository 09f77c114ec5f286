"""genzoo: deep generative models trained, sampled, evaluated and compared on the same footing."""

__version__ = "0.1.0"
