"""SE-ResNet-50 (Hu, Shen & Sun 2017, SENet) on ImageNet.

Paper: synchronous SGD, batch 1024, momentum 0.9, weight decay 1e-4, learning rate 0.6 divided by
10 every 30 epochs, 100 epochs from scratch; random-size crops and flips.
Aims at: 23.29% top-1 / 6.62% top-5 error, 224 px single crop, validation.

    python recipes/seresnet50.py --data /data/imagenet --out runs/seresnet50
"""

from _common import main

PAPER = dict(epochs=100, batch_size=1024, lr=0.6, optimizer="sgd", momentum=0.9, weight_decay=1e-4,
             schedule="step", milestones=(30, 60, 90), gamma=0.1)

if __name__ == "__main__":
    main("seresnet50", PAPER, __doc__)
