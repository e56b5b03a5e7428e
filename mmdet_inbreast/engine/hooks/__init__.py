from .channels_last_hook import ChannelsLastHook
from .epoch_seed_hook import EpochSeedHook, inbreast_worker_init_fn
from .freeze_backbone_hook import FreezeBackboneHook
from .stats_split_check_hook import StatsSplitCheckHook

__all__ = ['ChannelsLastHook', 'EpochSeedHook', 'FreezeBackboneHook',
           'StatsSplitCheckHook', 'inbreast_worker_init_fn']
