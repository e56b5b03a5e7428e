# Phase 1 with anchors fitted to INbreast masses: 3 scales x 5 ratios (15 per
# position, as in the seed), only the anchor generator changes.
# Values: a --with-stride run (boxes at their real positions against each
# FPN level's real anchor grid, as the assigner sees them; the patch
# pipeline crops but never resizes, so the original boxes are the ones the
# model sees) on the 116 real INbreast mass boxes, objective focal, seed 0:
#   python tools/optimize_anchors.py --boxes ../shared/data/inbreast_mass_boxes.csv --out-dir work_dirs/anchors15 --num-scales 3 --num-ratios 5 --with-stride --seed 0
#   mean best IoU on the grid: mmdet default 0.7832 -> 0.8669; stride-free
#   0.8364 -> 0.8957; unmatched (best IoU < 0.5): 0 -> 0 in both modes.
_base_ = './retina_patch.py'
model = dict(
    bbox_head=dict(
        anchor_generator=dict(
            # AnchorGenerator refuses scales together with the base's
            # octave_base_scale/scales_per_octave: null them.
            octave_base_scale=None,
            scales_per_octave=None,
            scales=[7.6208, 9.4727, 12.3993],
            ratios=[0.6083, 0.815, 1.0, 1.2271, 1.6439])))
