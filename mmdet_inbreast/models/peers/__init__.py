"""Models of other libraries, for side-by-side benchmarks."""
from .torchvision_retinanet import bench_torchvision_retinanet

__all__ = ['bench_torchvision_retinanet']
