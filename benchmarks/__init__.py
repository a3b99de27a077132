"""Side-by-side figures for docs/benchmarks.md: developer tools, not part of the installed package.

    python -m benchmarks TASK [--data DIR] [--model NAME] [--weights FILE] [--repeats N] [--json]

Tasks: ``predict`` (single-image latency and batch throughput), ``localize`` (images/s per CAM
method), ``input`` (the training input pipeline against ``image_dataset_from_directory``), ``train``
(the training step against ``model.fit``), ``fine-tune`` (``ilsvrc-keras fine-tune`` against a plain
Keras script, both timed as whole processes). Real assets default to ``../shared/assets``
(``$ILSVRC_KERAS_ASSETS``).
"""
