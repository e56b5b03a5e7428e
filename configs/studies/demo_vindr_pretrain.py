# Demo-scale configs/studies/vindr_pretrain.py: the demo's tiny model on the
# demo's synthetic INbreast release, 3 folds by patient (the folds and
# schedules of ./demo_two_phase.py), two-phase runs from scratch against
# two-phase runs whose phase 1 starts from the demo VinDr-Mammo phase-1
# model (trained once, before the study, on a synthetic VinDr-Mammo
# release at the same scale and mass contrast). All of it on a CPU:
#   python tools/demo.py --out-dir demo_output --study vindr_pretrain
# or by hand, with the VinDr model in work_dirs/retina_demo_patch_vindr:
#   python tools/make_synthetic_inbreast.py demo_output/data --layout vindr --num-patients 40 --scale 0.125 --mass-fraction 0.4 --contrast 400
#   python tools/split_patients.py demo_output/data/vindr-mammo --ratios 0.8 0.2 --names train val
#   python tools/compute_stats.py demo_output/data/vindr-mammo --split splits/train.txt
#   python tools/train.py configs/demo/retina_demo_patch_vindr.py --data-root demo_output/data/vindr-mammo
#   python tools/study.py configs/studies/demo_vindr_pretrain.py \
#       --data-root "demo_output/data/INbreast Release 1.0" --work-root demo_output/study_vindr
_base_ = ['./demo_two_phase.py']
baseline = 'scratch'
_short = {{_base_._short}}
_phase2 = {{_base_._phase2}}
variants = [
    dict(name='scratch',
         config=['configs/demo/retina_demo_patch.py',
                 'configs/demo/retina_demo_full.py'],
         stage_cfg_options=[_short, _phase2]),
    dict(name='vindr',
         config=['configs/demo/retina_demo_patch_from_vindr.py',
                 'configs/demo/retina_demo_full.py'],
         stage_cfg_options=[_short, _phase2]),
]
