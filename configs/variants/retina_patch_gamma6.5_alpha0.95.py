# Focal-loss grid of the seed thesis (gamma 3.5/5/6.5 at alpha 0.95; alpha
# 0.95/0.999/0.9999 at gamma 5): retina_patch.py with gamma=6.5, alpha=0.95.
# mmdet's FocalLoss weights positives by alpha and negatives by 1 - alpha.
#   python tools/train.py configs/variants/retina_patch_gamma6.5_alpha0.95.py
#   python tools/sweep.py configs/variants/retina_patch_gamma*_alpha*.py --work-root work_dirs/sweep_focal
_base_ = '../retina_patch.py'
model = dict(bbox_head=dict(loss_cls=dict(gamma=6.5, alpha=0.95)))
