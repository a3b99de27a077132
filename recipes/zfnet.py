"""ZFNet (Zeiler & Fergus 2013) on ImageNet.

Paper: as AlexNet: SGD, batch 128, momentum 0.9, learning rate 0.01 annealed by hand, 70 epochs,
dropout 0.5, 224 crops of 256 px images with flips; filters whose RMS exceeded 0.1 renormalized (not reproduced).
Aims at: 38.4% top-1 / 16.5% top-5 error, one model, ILSVRC-2012 validation.

    python recipes/zfnet.py --data /data/imagenet --out runs/zfnet
"""

from _common import main

PAPER = dict(epochs=70, batch_size=128, lr=0.01, optimizer="sgd", momentum=0.9, weight_decay=5e-4,
             schedule="step", milestones=(25, 45, 60), gamma=0.1,
             scale_jitter=(256, 256))

if __name__ == "__main__":
    main("zfnet", PAPER, __doc__)
