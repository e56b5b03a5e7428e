# Phase 2 with malignancy classes: retina_full.py (full-size mammograms,
# backbone frozen) with the two classes of retina_patch_malignancy.py,
# from its weights.
#   python tools/train.py configs/retina_full_malignancy.py
_base_ = ['./retina_full.py']
custom_imports = dict(imports=['mmdet_inbreast'], allow_failed_imports=False)

load_from = 'workdir://work_dirs/retina_patch_malignancy'
classes = ('benign_mass', 'malignant_mass')
metainfo = dict(classes=classes)
malignancy = dict(benign=['2', '3'],
                  malignant=['4', '4a', '4b', '4c', '5', '6'],
                  unknown='ignore')

train_dataloader = dict(dataset=dict(metainfo=metainfo, malignancy=malignancy))
val_dataloader = dict(dataset=dict(metainfo=metainfo, malignancy=malignancy))
test_dataloader = dict(dataset=dict(metainfo=metainfo, malignancy=malignancy))
model = dict(bbox_head=dict(num_classes=len(classes)))
