"""VGG-16, configuration D (Simonyan & Zisserman 2014) on ImageNet.

Paper: SGD, batch 256, momentum 0.9, weight decay 5e-4, dropout 0.5 in fc1/fc2, learning rate 0.01
divided by 10 when the validation accuracy stopped improving (three times), 74 epochs; scale
jittering in [256, 512] with 224 crops (``scale_jitter``: the shorter side drawn from that range).
Aims at: 24.4% top-1 / 7.2% top-5 error (one net, multi-crop and dense), 8.1% top-5 single-scale.

    python recipes/vgg16.py --data /data/imagenet --out runs/vgg16
"""

from _common import main

PAPER = dict(epochs=74, batch_size=256, lr=0.01, optimizer="sgd", momentum=0.9, weight_decay=5e-4,
             schedule="step", milestones=(30, 50, 65), gamma=0.1,
             scale_jitter=(256, 512))

if __name__ == "__main__":
    main("vgg16", PAPER, __doc__)
