from .config import (add_config_args, apply_cfg_options, load_config,
                     resolve_load_from, set_data_root, set_work_dir,
                     write_metrics)

__all__ = ['add_config_args', 'apply_cfg_options', 'load_config',
           'resolve_load_from', 'set_data_root', 'set_work_dir',
           'write_metrics']
