# The seed's focal-loss grid as a 5-fold study: gamma 3.5/5/6.5 at alpha
# 0.95 and alpha 0.95/0.999/0.9999 at gamma 5 (configs/variants/), phase 1
# (patches) each, tested on full images. Baseline: gamma 5, alpha 0.95.
#   python tools/study.py configs/studies/seed_focal.py \
#       --data-root "data/INbreast Release 1.0" --work-root work_dirs/study_focal
folds = 5
seed = 0
stratify = 'mass'
val_fraction = 0.125
checkpoint = 'best'
bootstrap = 1000
baseline = 'gamma5_alpha0.95'
variants = [
    dict(name=f'gamma{g}_alpha{a}',
         config=f'configs/variants/retina_patch_gamma{g}_alpha{a}.py')
    for g, a in (('5', '0.95'), ('3.5', '0.95'), ('6.5', '0.95'),
                 ('5', '0.999'), ('5', '0.9999'))
]
