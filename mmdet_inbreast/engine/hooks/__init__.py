from .channels_last_hook import ChannelsLastHook
from .dicom_visualization_hook import DicomVisualizationHook
from .epoch_seed_hook import EpochSeedHook, inbreast_worker_init_fn
from .freeze_backbone_hook import FreezeBackboneHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .stats_split_check_hook import StatsSplitCheckHook

__all__ = ['ChannelsLastHook', 'DicomVisualizationHook', 'EpochSeedHook',
           'FreezeBackboneHook', 'SafeCheckpointHook', 'StatsSplitCheckHook',
           'inbreast_worker_init_fn']
