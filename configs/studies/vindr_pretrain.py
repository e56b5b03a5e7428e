# Pre-training on a larger release: INbreast two-phase runs whose phase 1
# starts from ImageNet against the same runs whose phase 1 starts from the
# VinDr-Mammo phase-1 model (configs/vindr/retina_patch_from_vindr.py),
# compared on INbreast folds by patient with a paired bootstrap. The VinDr
# model is trained once, before the study, and sees no INbreast image:
#   python tools/train.py configs/vindr/retina_patch_vindr.py        # -> work_dirs/retina_patch_vindr
#   python tools/study.py configs/studies/vindr_pretrain.py \
#       --data-root "data/INbreast Release 1.0" --work-root work_dirs/study_vindr_pretrain
# The folds and settings of ./seed_two_phase.py; other variants.
_base_ = ['./seed_two_phase.py']
baseline = 'imagenet'
variants = [
    dict(name='imagenet',
         config=['configs/retina_patch.py', 'configs/retina_full.py']),
    dict(name='vindr',
         config=['configs/vindr/retina_patch_from_vindr.py',
                 'configs/retina_full.py']),
]
