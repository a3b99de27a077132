"""One worker of a two-worker run (``TF_CONFIG`` set by the test): trains with the engine and, where
``--signal-at STEP`` is given, sends itself SIGTERM after that step of the first epoch, as a
scheduler preempting one machine would. Prints the run's summary as JSON."""

import argparse
import json
import os
import signal

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

import ilsvrc_keras  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("data")
p.add_argument("out")
p.add_argument("--signal-at", type=int)
args = p.parse_args()


class Preempt(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if args.signal_at is not None and batch == args.signal_at:
            os.kill(os.getpid(), signal.SIGTERM)


result = ilsvrc_keras.train(args.data, "resnet18", args.out, epochs=1, batch_size=8, image_size=48, lr=0.02,
                            checkpoint_every=1000, progress=False, callbacks=[Preempt()])
print(json.dumps(result.to_dict()))
