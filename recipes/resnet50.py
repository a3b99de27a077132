"""ResNet-50 (He et al. 2015) on ImageNet.

Paper: SGD, batch 256, momentum 0.9, weight decay 1e-4, learning rate 0.1 divided by 10 when the
error plateaus (here at epochs 30, 60 and 80 of 90, the common reading), no dropout, 224 crops with
scale augmentation (the shorter side drawn from [256, 480]) and flips.
Aims at: 22.85% top-1 / 6.71% top-5 error (10-crop, validation); about 24% top-1 single-crop.

    python recipes/resnet50.py --data /data/imagenet --out runs/resnet50          # one machine, all GPUs
    TF_CONFIG='{"cluster": {...}, "task": {...}}' python recipes/resnet50.py ...   # one process per machine
"""

from _common import main

PAPER = dict(epochs=90, batch_size=256, lr=0.1, optimizer="sgd", momentum=0.9, weight_decay=1e-4,
             schedule="step", milestones=(30, 60, 80), gamma=0.1,
             scale_jitter=(256, 480))

if __name__ == "__main__":
    main("resnet50", PAPER, __doc__)
