# RetinaNet-R50-FPN for one-class mass detection on gray mammograms that the
# pipeline has normalised (ZeroIgnoringNormalize) and copied to 3 channels.
_base_ = 'mmdet::_base_/models/retinanet_r50_fpn.py'

model = dict(
    data_preprocessor=dict(
        _delete_=True,
        # The pipeline normalised already; pad with the normalised background
        # (-mean / std, carried by each sample), never with 0.
        type='BackgroundPadDetDataPreprocessor',
        mean=None,
        std=None,
        bgr_to_rgb=False,
        pad_size_divisor=32),
    bbox_head=dict(
        # RetinaHead with test-time NMS that needs no mmcv CUDA op
        # (torchvision's kernel on GPUs); mmdet's own: type='RetinaHead'.
        type='TorchNMSRetinaHead',
        num_classes=1,
        # Focal-loss gamma/alpha: the fields the seed tuned (see the
        # retina_*_gamma*/alpha* variants). mmdet's FocalLoss through its
        # pure-torch path, float32 inside: runs in fp32/fp16/bf16 and with
        # an mmcv built without CUDA ops. mmdet's own: type='FocalLoss'
        # (mmcv's CUDA kernel on GPUs; no bfloat16).
        loss_cls=dict(type='TorchSigmoidFocalLoss', use_sigmoid=True,
                      gamma=2.0, alpha=0.25, loss_weight=1.0)),
    # Boxes flagged ignore (masses cut by a crop) are neither positive nor
    # negative for the anchors that mostly cover them.
    train_cfg=dict(assigner=dict(ignore_iof_thr=0.5)),
    test_cfg=dict(score_thr=0.05, max_per_img=100))
