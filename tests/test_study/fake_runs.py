"""A stand-in interpreter for the study tests: called as
``python fake_runs.py -m mmdet_inbreast.apis.train|test CONFIG ...`` it
writes what the real modules would (checkpoints, scalars, predictions,
metrics) in a moment.

The work root ``W`` (four levels above a stage's work dir) holds the
controls: ``gt.json`` (key -> patient and boxes), ``calls.jsonl`` (every
call, appended), ``hang_<variant>_fold<k>`` (training writes a checkpoint,
touches ``W/hanging`` and sleeps), ``fail_once_<variant>_fold<k>`` (the
next training of that run fails and removes the file) and
``fail_<variant>_fold<k>`` (training always fails).

Predictions: variant ``good`` finds every box (score 0.9 - 0.01 i) and adds
one false positive per image (score 0.3 + 0.001 i); any other variant puts
a box beside each mass (score 0.8, a false positive) and one on it (score
0.2). Metrics: AP = (fold + 1) / 10 (+ 0.3 for ``good``), likewise the rest.
"""
import json
import os
import os.path as osp
import pickle
import re
import sys
import time

import numpy as np


def option(args, flag):
    return args[args.index(flag) + 1] if flag in args else None


def cfg_options(args):
    if '--cfg-options' not in args:
        return {}
    return dict(o.split('=', 1) for o in args[args.index('--cfg-options')
                                              + 1:])


def main():
    assert sys.argv[1] == '-m', sys.argv
    tool = sys.argv[2].rsplit('.', 1)[1]
    args = sys.argv[3:]
    config = args[0]
    variant = osp.splitext(osp.basename(config))[0]
    opts = cfg_options(args)
    stats = option(args, '--stats-file')
    fold = int(re.search(r'fold(\d+)', stats).group(1))
    run = f'{variant}_fold{fold}'
    if tool == 'train':
        work_dir = option(args, '--work-dir')
        root = osp.dirname(osp.dirname(osp.dirname(osp.dirname(work_dir))))
    else:
        work_dir = option(args, '--work-dir')  # <run>/test
        root = osp.dirname(osp.dirname(osp.dirname(osp.dirname(work_dir))))
    with open(osp.join(root, 'calls.jsonl'), 'a') as f:
        f.write(json.dumps(dict(
            tool=tool, variant=variant, fold=fold,
            stage=osp.basename(work_dir), resume='--resume' in args,
            options=opts, stats=stats, argv=args)) + '\n')
    os.makedirs(work_dir, exist_ok=True)
    if tool == 'train':
        if osp.exists(osp.join(root, f'fail_{run}')):
            sys.exit('boom: loss is NaN')
        if osp.exists(osp.join(root, f'fail_once_{run}')):
            os.remove(osp.join(root, f'fail_once_{run}'))
            sys.exit('boom: once')
        ckpt = osp.join(work_dir, 'epoch_1.pth')
        open(ckpt, 'w').close()
        with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
            f.write(ckpt)
        if osp.exists(osp.join(root, f'hang_{run}')) and \
                '--resume' not in args:
            open(osp.join(root, 'hanging'), 'w').close()
            time.sleep(600)
        ts = time.strftime('%Y%m%d_%H%M%S')
        os.makedirs(osp.join(work_dir, ts, 'vis_data'), exist_ok=True)
        with open(osp.join(work_dir, ts, 'vis_data', 'scalars.json'),
                  'w') as f:
            f.write(json.dumps(dict(loss=1.0 / (fold + 1), time=0.1,
                                    epoch=1, iter=2, step=2)) + '\n')
            f.write(json.dumps({'coco/bbox_mAP_50': 0.5, 'step': 1}) + '\n')
        return
    gt = json.load(open(osp.join(root, 'gt.json')))
    split = opts['test_dataloader.dataset.ann_file']
    keys = [line.strip() for line in open(split)
            if line.strip() and not line.startswith('#')]
    samples = []
    for n, key in enumerate(keys):
        boxes = np.asarray(gt[key]['boxes'], dtype=np.float64).reshape(-1, 4)
        if variant == 'good':
            pred = list(boxes) + [np.array([0, 0, 5, 5], float)]
            scores = [0.9 - 0.01 * i for i in range(len(boxes))] + [
                0.3 + 0.001 * n]
        else:
            w = boxes[:, 2:3] - boxes[:, 0:1] if len(boxes) else 0
            pred = list(boxes + np.hstack([w, 0 * w, w, 0 * w])) + list(
                boxes)
            scores = [0.8] * len(boxes) + [0.2] * len(boxes)
        samples.append(dict(
            img_id=n, file_name=key, patient_id=gt[key]['patient'],
            img_path=f'/x/{key}_x.dcm',
            instances=[dict(bbox=list(b), bbox_label=0, ignore_flag=0)
                       for b in boxes],
            pred_instances=dict(
                bboxes=np.asarray(pred, dtype=np.float32).reshape(-1, 4),
                scores=np.asarray(scores, dtype=np.float32),
                labels=np.zeros(len(scores), np.int64))))
    with open(option(args, '--out'), 'wb') as f:
        pickle.dump(samples, f)
    d = (fold + 1) / 10 + (0.3 if variant == 'good' else 0.0)
    with open(option(args, '--metrics-out'), 'w') as f:
        json.dump({'coco/bbox_mAP': d, 'coco/bbox_mAP_50': d + 0.1,
                   'froc/CPM': d + 0.2, 'froc/sens@0.5': d + 0.01,
                   'froc/sens@1': d + 0.02, 'froc/sens@2': d + 0.03}, f)


if __name__ == '__main__':
    main()
