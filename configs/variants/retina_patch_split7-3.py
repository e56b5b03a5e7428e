# Train/test split ratio 7:3 (the seed thesis' split grid):
# retina_patch.py trained on splits/ratio7-3/train.txt, validated and tested
# on splits/ratio7-3/test.txt (no separate val split). Write the files with
#   python tools/split_patients.py "data/INbreast Release 1.0" --ratios 0.7 0.3 --names train test --out-dir "data/INbreast Release 1.0/splits/ratio7-3"
# Validation runs on the test split, so "best" checkpoints are chosen on it:
# report the last one (tools/sweep.py tests the last by default). The
# normalisation statistics stay those of splits/train_stats.json (pass
# --stats-file to use statistics of this train split).
#   python tools/sweep.py configs/variants/retina_patch_split*.py --work-root work_dirs/sweep_split
_base_ = '../retina_patch.py'
train_dataloader = dict(
    dataset=dict(dataset=dict(ann_file='splits/ratio7-3/train.txt')))
val_dataloader = dict(dataset=dict(ann_file='splits/ratio7-3/test.txt'))
test_dataloader = dict(dataset=dict(ann_file='splits/ratio7-3/test.txt'))
