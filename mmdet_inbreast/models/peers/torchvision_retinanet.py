"""torchvision's ``retinanet_resnet50_fpn``: the train step a user would
time instead of ours, on the same input size and autocast dtype."""
from __future__ import annotations

import contextlib
import time
from typing import Optional


def bench_torchvision_retinanet(batch_size: int,
                                height: int,
                                width: int,
                                iters: int,
                                warmup: int = 1,
                                device: str = 'cuda',
                                amp_dtype: Optional[str] = 'bfloat16',
                                seed: int = 0) -> dict:
    """Time forward + backward + SGD step of torchvision's RetinaNet-R50-FPN.

    Random weights (nothing is downloaded), 1 class plus background, one
    random box per image, random ``(batch_size, 3, height, width)`` inputs;
    ``min_size``/``max_size`` are set so that torchvision's transform keeps
    the input size. Errors are returned, not raised.

    Args:
        batch_size (int): Images per step.
        height (int): Input height in pixels.
        width (int): Input width in pixels.
        iters (int): Timed steps.
        warmup (int): Untimed steps first. Defaults to 1.
        device (str): ``'cuda'`` or ``'cpu'``. Defaults to ``'cuda'``.
        amp_dtype (str, optional): Autocast dtype (``'bfloat16'``,
            ``'float16'``) or None for float32. Defaults to ``'bfloat16'``.
        seed (int): Seed of the weights and inputs. Defaults to 0.

    Returns:
        dict: ``name``, ``img_per_s`` (None on error), ``peak_gib`` (CUDA
        only, else None), ``batch_size``, ``input`` ('HxW'), ``amp_dtype``,
        ``error`` (None, or one line).
    """
    import torch
    out = dict(name='torchvision retinanet_resnet50_fpn',
               batch_size=batch_size, input=f'{height}x{width}',
               amp_dtype=amp_dtype, img_per_s=None, peak_gib=None,
               error=None)
    cuda = device.startswith('cuda')
    try:
        from torchvision.models.detection import retinanet_resnet50_fpn
    except Exception as e:  # ImportError, or RuntimeError of a CUDA build
        first = (str(e).strip().splitlines() or [''])[0][:80]
        out['error'] = f'torchvision unavailable ({type(e).__name__}: {first})'
        return out
    try:
        torch.manual_seed(seed)
        model = retinanet_resnet50_fpn(
            weights=None, weights_backbone=None, num_classes=2,
            min_size=min(height, width), max_size=max(height, width))
        model.to(device).train()
        opt = torch.optim.SGD(
            [p for p in model.parameters() if p.requires_grad], lr=1e-3,
            momentum=0.9)
        g = torch.Generator().manual_seed(seed)
        images = torch.rand(batch_size, 3, height, width,
                            generator=g).to(device)
        xy = torch.rand(batch_size, 2, generator=g) * 0.5
        wh = 0.1 + torch.rand(batch_size, 2, generator=g) * 0.3
        scale = torch.tensor([width, height, width, height])
        boxes = torch.cat([xy, xy + wh], 1) * scale
        targets = [dict(boxes=boxes[i:i + 1].to(device),
                        labels=torch.ones(1, dtype=torch.long,
                                          device=device))
                   for i in range(batch_size)]
        autocast = (torch.autocast(device.split(':')[0],
                                   dtype=getattr(torch, amp_dtype))
                    if amp_dtype else contextlib.nullcontext())

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            with autocast:
                losses = model(list(images), targets)
            sum(losses.values()).backward()
            opt.step()

        for _ in range(warmup):
            step()
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        for _ in range(iters):
            step()
        if cuda:
            torch.cuda.synchronize()
            out['peak_gib'] = torch.cuda.max_memory_allocated() / 2**30
        out['img_per_s'] = batch_size * iters / (time.perf_counter() - start)
    except Exception as e:  # reported, not raised
        first = (str(e).strip().splitlines() or [''])[0][:80]
        out['error'] = f'fails ({type(e).__name__}: {first})'
    return out
