from .channels_last_hook import ChannelsLastHook
from .freeze_backbone_hook import FreezeBackboneHook

__all__ = ['ChannelsLastHook', 'FreezeBackboneHook']
