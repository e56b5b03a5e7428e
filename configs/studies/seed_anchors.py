# mmdet's default anchors against anchors fitted per fold to the fold's
# training boxes (3 ratios x 3 scales on the real anchor grid, as
# tools/optimize_anchors.py --with-stride fits them; test boxes never
# reach the fit), phase 1 on patches.
#   python tools/study.py configs/studies/seed_anchors.py \
#       --data-root "data/INbreast Release 1.0" --work-root work_dirs/study_anchors
folds = 5
seed = 0
stratify = 'mass'
val_fraction = 0.125
checkpoint = 'best'
bootstrap = 1000
baseline = 'default_anchors'
variants = [
    dict(name='default_anchors', config='configs/retina_patch.py'),
    dict(name='fitted_anchors', config='configs/retina_patch.py',
         fit_anchors=dict(num_ratios=3, num_scales=3, with_stride=True)),
]
