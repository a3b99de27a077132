"""ResNeXt-50 32x4d (Xie et al. 2016) on ImageNet.

Paper: as ResNet: SGD, batch 256 on 8 GPUs, momentum 0.9, weight decay 1e-4, learning rate 0.1
divided by 10 three times, 224 crops with scale and aspect augmentation.
Aims at: 22.2% top-1 error, 224 px single crop, validation.

    python recipes/resnext50.py --data /data/imagenet --out runs/resnext50
"""

from _common import main

PAPER = dict(epochs=90, batch_size=256, lr=0.1, optimizer="sgd", momentum=0.9, weight_decay=1e-4,
             schedule="step", milestones=(30, 60, 80), gamma=0.1)

if __name__ == "__main__":
    main("resnext50", PAPER, __doc__)
