from .config import (add_config_args, apply_cfg_options, load_config,
                     resolve_load_from, set_data_root, set_work_dir,
                     write_metrics)
from .seeding import derive_seed, seed_numpy_and_random

__all__ = ['add_config_args', 'apply_cfg_options', 'derive_seed',
           'load_config', 'resolve_load_from', 'seed_numpy_and_random',
           'set_data_root', 'set_work_dir', 'write_metrics']
