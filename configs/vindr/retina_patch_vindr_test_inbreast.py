# External validation, VinDr-Mammo -> INbreast: the VinDr-trained phase-1
# model (retina_patch_vindr.py) tested on full-size INbreast mammograms of
# the test split, normalised with VinDr-Mammo's training statistics (those
# of the data the model was trained on; the dataset's log line names them).
#   python tools/test.py configs/vindr/retina_patch_vindr_test_inbreast.py work_dirs/retina_patch_vindr/CHECKPOINT.pth
# Move the INbreast release with --cfg-options test_dataloader.dataset.data_root=DIR
_base_ = ['./retina_patch_vindr.py']
custom_imports = dict(imports=['mmdet_inbreast'], allow_failed_imports=False)

inbreast_root = 'data/INbreast Release 1.0/'
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='INbreastDataset',
        data_root=inbreast_root,
        ann_file='splits/test.txt',
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
