# Train/test split ratio 6:4 (the seed thesis' split grid):
# retina_patch.py trained on splits/ratio6-4/train.txt, validated and tested
# on splits/ratio6-4/test.txt (no separate val split). Write the files with
#   python tools/split_patients.py "data/INbreast Release 1.0" --ratios 0.6 0.4 --names train test --out-dir "data/INbreast Release 1.0/splits/ratio6-4"
# Validation runs on the test split, so "best" checkpoints are chosen on it:
# report the last one (tools/sweep.py tests the last by default). The
# normalisation statistics stay those of splits/train_stats.json (pass
# --stats-file to use statistics of this train split).
#   python tools/sweep.py configs/variants/retina_patch_split*.py --work-root work_dirs/sweep_split
_base_ = '../retina_patch.py'
train_dataloader = dict(
    dataset=dict(dataset=dict(ann_file='splits/ratio6-4/train.txt')))
val_dataloader = dict(dataset=dict(ann_file='splits/ratio6-4/test.txt'))
test_dataloader = dict(dataset=dict(ann_file='splits/ratio6-4/test.txt'))
