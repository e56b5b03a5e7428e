# The project's runtime with TensorBoard event files besides mmengine's own
# logs (vis_data/scalars.json, which tools/plot_history.py reads): losses,
# learning rate and validation metrics go to
# <work_dir>/<timestamp>/vis_data/events.out.tfevents.*.
# Needs the extra: pip install -e ".[tensorboard]".
#
# Use it in place of './inbreast_runtime.py' in a config's _base_ list, or
# give any config the same two backends in a config of your own:
#   _base_ = './retina_patch.py'
#   visualizer = dict(vis_backends=[dict(type='LocalVisBackend'),
#                                   dict(type='TensorboardVisBackend')])
# then: tensorboard --logdir work_dirs
_base_ = './inbreast_runtime.py'

vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend'),
]
visualizer = dict(
    type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
