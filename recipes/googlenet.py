"""GoogLeNet / Inception v1 (Szegedy et al. 2014) on ImageNet.

Paper: SGD with momentum 0.9, learning rate decreased by 4% every 8 epochs, the two auxiliary
classifiers' losses weighted by 0.3, dropout 0.4 (0.7 in the auxiliary heads), crops of 8-100% of
the image area with aspect 3/4-4/3 (the random-resized crop this engine uses). The paper trained
asynchronously; this recipe uses synchronous SGD at batch 256 (base rate from the BVLC reproduction).
Aims at: 10.07% top-5 error, one model, one crop, ILSVRC-2014 validation.

    python recipes/googlenet.py --data /data/imagenet --out runs/googlenet
"""

from _common import main

PAPER = dict(epochs=120, batch_size=256, lr=0.04, optimizer="sgd", momentum=0.9, weight_decay=2e-4,
             schedule="step", milestones=tuple(range(8, 120, 8)), gamma=0.96, aux_weight=0.3)

if __name__ == "__main__":
    main("googlenet", PAPER, __doc__)
