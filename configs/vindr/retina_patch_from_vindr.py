# INbreast phase 1 initialised from the VinDr-Mammo phase-1 model instead of
# ImageNet: retina_patch.py with load_from. INbreast keeps its own splits
# and statistics (the pipeline normalises with INbreast's training split).
#   python tools/train.py configs/vindr/retina_patch_vindr.py
#   python tools/train.py configs/vindr/retina_patch_from_vindr.py
#   python tools/train.py configs/retina_full.py --cfg-options load_from=work_dirs/retina_patch_from_vindr
# load_from may name a work dir: tools/train.py then loads the checkpoint
# its last_checkpoint file points to.
_base_ = ['../retina_patch.py']
custom_imports = dict(imports=['mmdet_inbreast'], allow_failed_imports=False)

load_from = 'work_dirs/retina_patch_vindr'
model = dict(backbone=dict(init_cfg=None))  # weights come from load_from
