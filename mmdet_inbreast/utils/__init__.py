from .config import (WORK_DIR_SCHEME, add_config_args, apply_cfg_options,
                     load_config, resolve_load_from, set_data_root,
                     set_work_dir, work_dir_checkpoint, write_metrics)
from .cli import run_tool
from .errors import InputError
from .seeding import derive_seed, seed_numpy_and_random

__all__ = ['WORK_DIR_SCHEME', 'InputError', 'add_config_args', 'apply_cfg_options', 'derive_seed',
           'load_config', 'resolve_load_from', 'run_tool', 'seed_numpy_and_random',
           'set_data_root', 'set_work_dir', 'work_dir_checkpoint',
           'write_metrics']
