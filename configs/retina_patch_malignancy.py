# Phase 1 with malignancy classes: retina_patch.py with two classes, benign
# and malignant masses, each mass taking its class from its image's BI-RADS
# in INbreast.csv (INbreast assesses images, not lesions): 2-3 benign, 4
# (4a, 4b, 4c), 5 and 6 malignant. A mass of an image with BI-RADS 0, 1 or
# blank is an ignored box (neither a hit nor a false positive). FROCMetric
# and INbreastCocoMetric then report each class as well as both together
# (froc/benign_mass_CPM, froc/malignant_mass_sens@1,
# coco/bbox_malignant_mass_mAP_50, ...).
#   python tools/train.py configs/retina_patch_malignancy.py
#   python tools/train.py configs/retina_full_malignancy.py
# Another rule (e.g. 4a read as benign: benign=['2', '3', '4a'],
# malignant=['4b', '4c', '5', '6']) is set on each dataset, as below, in a
# config that inherits this one (changing the variable alone does not reach
# the datasets).
_base_ = ['./retina_patch.py']
custom_imports = dict(imports=['mmdet_inbreast'], allow_failed_imports=False)

classes = ('benign_mass', 'malignant_mass')
metainfo = dict(classes=classes)
malignancy = dict(benign=['2', '3'],
                  malignant=['4', '4a', '4b', '4c', '5', '6'],
                  unknown='ignore')

train_dataloader = dict(
    dataset=dict(dataset=dict(metainfo=metainfo, malignancy=malignancy)))
val_dataloader = dict(dataset=dict(metainfo=metainfo, malignancy=malignancy))
test_dataloader = dict(dataset=dict(metainfo=metainfo, malignancy=malignancy))
model = dict(bbox_head=dict(num_classes=len(classes)))
