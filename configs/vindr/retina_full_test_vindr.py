# External validation, INbreast -> VinDr-Mammo: the INbreast-trained phase-2
# model (retina_full.py) tested on VinDr-Mammo's official test split. The
# test pipeline normalises with the INbreast training statistics (those of
# the data the model was trained on), and the dataset's log line names the
# statistics file it uses.
#   python tools/test.py configs/vindr/retina_full_test_vindr.py work_dirs/retina_full/CHECKPOINT.pth
# Move the VinDr release with --cfg-options test_dataloader.dataset.data_root=DIR
# (--data-root would move every dataset and the statistics with it).
_base_ = ['../retina_full.py']
custom_imports = dict(imports=['mmdet_inbreast'], allow_failed_imports=False)

vindr_root = 'data/vindr-mammo/'
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='VinDrMammoDataset',
        data_root=vindr_root,
        split='test',
        test_mode=True,
        metainfo=dict(classes=('mass', )),
        pipeline={{_base_.test_pipeline}}))
