# The seed's main comparison: two-phase training (phase 1 on 1024 x 1024
# patches, phase 2 on full mammograms from its best checkpoint with the
# backbone frozen) against one phase on resized mammograms.
#   python tools/study.py configs/studies/seed_two_phase.py \
#       --data-root "data/INbreast Release 1.0" --work-root work_dirs/study_two_phase
folds = 5
seed = 0
stratify = 'mass'
val_fraction = 0.125
checkpoint = 'best'
bootstrap = 1000
baseline = 'resized'
variants = [
    dict(name='resized', config='configs/retina_resized.py'),
    dict(name='two_phase',
         config=['configs/retina_patch.py', 'configs/retina_full.py']),
]
