from .config import (apply_cfg_options, resolve_load_from, set_data_root,
                     set_work_dir, write_metrics)

__all__ = ['apply_cfg_options', 'resolve_load_from', 'set_data_root',
           'set_work_dir', 'write_metrics']
