# The seed's train:test ratio grid (8:2, 7:3, 6:4, 5:5) as a question of
# how much training data the model needs, answered on the same test
# images: 5 folds (test 1/5 of the patients each time), and each variant
# trains on a share of the fold's training patients -- 8:2 on all of them,
# 7:3 on 7/8, 6:4 on 6/8, 5:5 on 5/8 (by patient, stratified by masses,
# statistics of that share). Val (for the best checkpoint) is carved from
# the training patients first and is the same for every variant, so the
# comparison is paired and nothing is selected on test. Phase 1 on patches.
#   python tools/study.py configs/studies/seed_split_ratio.py \
#       --data-root "data/INbreast Release 1.0" --work-root work_dirs/study_split_ratio
folds = 5
seed = 0
stratify = 'mass'
val_fraction = 0.125
checkpoint = 'best'
bootstrap = 1000
baseline = 'train8_test2'
variants = [
    dict(name=f'train{r}_test{10 - r}', config='configs/retina_patch.py',
         train_fraction=r / 8)
    for r in (8, 7, 6, 5)
]
