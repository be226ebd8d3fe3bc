"""Models: configs, windows, training data, training runs, the runtimes (torch, ONNX) and the one prediction path."""
