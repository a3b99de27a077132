"""AlexNet (Krizhevsky, Sutskever & Hinton 2012) on ImageNet.

Paper: SGD, batch 128, momentum 0.9, weight decay 5e-4, learning rate 0.01 divided by 10 when the
validation error stopped improving (three times), about 90 epochs; dropout 0.5 in fc6/fc7; random
224 crops of 256 px images with flips (``scale_jitter``: the shorter side at 256 for 224 crops).
Aims at: 40.7% top-1 / 18.2% top-5 error, one CNN, ILSVRC-2012 validation.

    python recipes/alexnet.py --data /data/imagenet --out runs/alexnet
    python recipes/alexnet.py --data ../shared/assets/flowers --out /tmp/smoke --smoke
"""

from _common import main

PAPER = dict(epochs=90, batch_size=128, lr=0.01, optimizer="sgd", momentum=0.9, weight_decay=5e-4,
             schedule="step", milestones=(30, 60, 80), gamma=0.1,
             scale_jitter=(256, 256))

if __name__ == "__main__":
    main("alexnet", PAPER, __doc__)
