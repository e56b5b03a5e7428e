"""One conversion every consumer of mmdet's predictions needs."""
from typing import Any

import numpy as np


def to_numpy(value: Any) -> np.ndarray:
    """A tensor, box structure (mmdet's ``BaseBoxes``), list or array as a
    NumPy array.

    Args:
        value (Any): ``torch.Tensor`` (any device), ``HorizontalBoxes``,
            list or array.

    Returns:
        np.ndarray: The values, on the CPU.
    """
    if hasattr(value, 'tensor'):  # mmdet's HorizontalBoxes
        value = value.tensor
    if hasattr(value, 'detach'):  # torch.Tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value)
