"""Installs mmdet-inbreast, an MMDetection 3.x plugin for mass detection on INbreast."""
import os.path as osp

from setuptools import find_packages, setup


def get_version() -> str:
    """Read ``__version__`` from ``mmdet_inbreast/version.py`` without importing the package."""
    scope: dict = {}
    with open(osp.join(osp.dirname(__file__), 'mmdet_inbreast', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmdet_inbreast',
    version=get_version(),
    description='MMDetection 3.x plugin: RetinaNet mass detection on INbreast mammograms',
    long_description=open(osp.join(osp.dirname(__file__), 'README.md')).read()
    if osp.exists(osp.join(osp.dirname(__file__), 'README.md')) else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmdet_inbreast', 'mmdet_inbreast.*']),
    python_requires='>=3.10',
    install_requires=[
        # The stack checked to work together (see README, "Installation").
        'torch==2.13.0',
        'mmengine==0.10.7',
        'mmcv==2.1.0',  # source-only release: built by tools/setup_env.sh
        'mmdet==3.3.0',
        'pydicom>=3.0,<4',
        # pydicom's decoder plugins: JPEG (8/12-bit, lossless), JPEG-LS
        # (libjpeg) and JPEG 2000 (OpenJPEG); RLE is decoded by pydicom.
        'pylibjpeg>=2.0',
        'pylibjpeg-libjpeg>=2.1',
        'pylibjpeg-openjpeg>=2.3',
        'pycocotools',
        'numpy>=1.24',
        'scipy',
        'matplotlib',
        'tqdm',
        # mmengine and mmcv import pkg_resources at run time; torch 2.13 needs >=77.
        'setuptools>=77,<82',
    ],
    extras_require={
        # pytest-xdist: make test runs one worker per core.
        'tests': ['pytest>=7', 'pytest-xdist>=3'],
        # tools/study.py --launcher ray (runs of a study as Ray tasks).
        'ray': ['ray>=2.9'],
        # TensorBoard curves (configs/_base_/runtime_tensorboard.py).
        'tensorboard': ['tensorboard>=2.14'],
        # NMS on GPUs without mmcv's CUDA ops (TorchNMSRetinaHead). Not in
        # install_requires: torchvision's PyPI wheels link torch's CUDA
        # libraries, and with a CPU-only torch its import raises a
        # RuntimeError that breaks mmengine's Runner (its environment report
        # catches only ModuleNotFoundError). 0.28.0 is the release for
        # torch 2.13.0; install the one built for your torch.
        'gpu': ['torchvision==0.28.0'],
    },
    zip_safe=False,
)
