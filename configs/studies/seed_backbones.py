# Two-phase training with ResNet-18/34/50/101 backbones (ImageNet
# weights); baseline R50, the seed's default.
#   python tools/study.py configs/studies/seed_backbones.py \
#       --data-root "data/INbreast Release 1.0" --work-root work_dirs/study_backbones
folds = 5
seed = 0
stratify = 'mass'
val_fraction = 0.125
checkpoint = 'best'
bootstrap = 1000
baseline = 'r50'
variants = [
    dict(name='r50',
         config=['configs/retina_patch.py', 'configs/retina_full.py']),
] + [
    dict(name=f'r{d}', config=[f'configs/retina_patch_r{d}.py',
                               f'configs/retina_full_r{d}.py'])
    for d in (18, 34, 101)
]
