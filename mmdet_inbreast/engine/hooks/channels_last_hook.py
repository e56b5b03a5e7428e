"""Convert the model to the channels-last (NHWC) memory format."""
from itertools import chain

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Put every 4-D parameter and buffer of the model in ``channels_last``.

    Convolutions on tensor cores (fp16/bf16 autocast on Ampere and later)
    run fastest on NHWC tensors; PyTorch keeps NCHW by default and transposes
    around each cuDNN call. This hook calls
    ``model.to(memory_format=torch.channels_last)`` once, in ``before_run``
    (so it covers ``runner.train()``, ``runner.val()`` and ``runner.test()``).

    Inputs need no conversion: when either the input or the weight of a
    ``Conv2d`` is channels-last, PyTorch picks channels-last for the
    convolution and its output, so the NCHW-contiguous batch that mmdet's
    ``DetDataPreprocessor`` builds inside ``train_step`` becomes NHWC at the
    first convolution and the format propagates through the network.

    Safe at ``before_run``: the runner has already built the optimizer, but
    ``nn.Module.to`` swaps ``param.data`` in place, so the ``Parameter``
    objects the optimizer holds stay the same; the weight initialisation and
    checkpoint loading that come after ``before_run`` copy into the existing
    tensors (``copy_``), which keeps their memory format. The priority is
    ``'VERY_HIGH'`` so that hooks that copy the model in ``before_run``
    (``EMAHook``) copy the converted one. Under DDP the model is already
    wrapped at this point; DDP then warns once that gradient strides differ
    from its bucket views and copies gradients into the buckets, which is
    correct but slower than converting before wrapping.

    The result of the network is unchanged up to floating-point rounding
    (checked to 1e-5 on a RetinaNet-R18 in
    ``tests/test_engine/test_channels_last_hook.py``).

    Example:
        >>> custom_hooks = [dict(type='ChannelsLastHook')]
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        """Convert ``runner.model`` (unwrapped) to channels-last.

        Args:
            runner (Runner): The runner of the training, validation or
                testing process.
        """
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        model.to(memory_format=torch.channels_last)
        num_4d = sum(1 for t in chain(model.parameters(), model.buffers())
                     if t.dim() == 4)
        runner.logger.info(
            f'ChannelsLastHook: {type(model).__name__} is now in '
            f'torch.channels_last ({num_4d} 4-D parameters and buffers)')
