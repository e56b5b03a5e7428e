"""SafeCheckpointHook: checkpoints that a kill cannot lose or corrupt, and
loads that refuse weights of another model."""
from __future__ import annotations

import glob
import os
import os.path as osp
import re
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook
from mmdet.registry import HOOKS

from ..checkpoint import atomic_replace, temporary_name, write_text_atomic
from ..checkpoint_fit import check_checkpoint_fits
from ..resume import find_resume_checkpoint

#: Temporary files of :func:`~mmdet_inbreast.engine.checkpoint.temporary_name`.
_TMP = re.compile(r'^\..+\.\d+\.tmp$')


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` with atomic saves, deletion after the
    save, a resume fallback and a fit check on load.

    Same arguments and files as :class:`mmengine.hooks.CheckpointHook`.
    What changes:

    - **Save**: each checkpoint is written to a hidden temporary file in the
      same folder (``.epoch_2.pth.<pid>.tmp``), flushed to disk, and renamed
      to its name in one ``os.replace``. A kill during the save leaves the
      temporary file (removed, and named in the log, when the next run
      starts), never a fragment under ``epoch_2.pth``.
    - **Order**: save the new checkpoint, then point ``last_checkpoint`` at
      it (also atomically), then delete what ``max_keep_ckpts`` or a new
      best checkpoint makes obsolete. mmengine deletes first, so a kill
      during the save loses the only checkpoint and leaves
      ``last_checkpoint`` naming a deleted file.
    - **Resume** (``resume=True`` without a file): resumes from
      :func:`~mmdet_inbreast.engine.resume.find_resume_checkpoint`'s choice,
      which falls back to the newest intact checkpoint when
      ``last_checkpoint`` names a missing or damaged one, and logs it.
    - **Load** (``load_from``, ``--resume``, testing): refuses a checkpoint
      whose tensors do not fit the model
      (:func:`~mmdet_inbreast.engine.checkpoint_fit.check_checkpoint_fits`)
      instead of going on from random weights; the config key
      ``load_from_partial = True`` allows a partial load (a pre-trained
      backbone under a new head) and logs what was loaded. A resumed run
      must always fit.

    Saves to other storage backends (Petrel, HTTP...) go through mmengine's
    own code, unchanged.
    """

    # --------------------------------------------------------------- stages
    def before_run(self, runner) -> None:
        """Choose the checkpoint of ``resume=True`` (before mmengine's
        ``load_or_resume``, which reads ``last_checkpoint`` as it is)."""
        if getattr(runner, '_resume', False) and \
                getattr(runner, '_load_from', None) is None:
            chosen = find_resume_checkpoint(runner.work_dir, runner.logger)
            if chosen is not None:
                runner._load_from = chosen

    def before_train(self, runner) -> None:
        """mmengine's set-up, then remove temporary files of saves that
        were cut short."""
        super().before_train(runner)
        if self._atomic and is_main_process():
            stale = sorted(
                p for p in glob.glob(osp.join(self.out_dir, '.*.tmp'))
                if _TMP.match(osp.basename(p)))
            for path in stale:
                os.remove(path)
            if stale:
                runner.logger.warning(
                    f'removed {len(stale)} unfinished checkpoint file(s) of '
                    f'an interrupted save: '
                    f'{", ".join(osp.basename(p) for p in stale)}')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse a checkpoint whose tensors do not fit the model."""
        resuming = bool(getattr(runner, '_resume', False))
        partial = bool(runner.cfg.get('load_from_partial', False)) and \
            not resuming
        filename = getattr(runner, '_load_from', None) or 'the checkpoint'
        config = getattr(runner.cfg, 'filename', None)
        check_checkpoint_fits(runner.model, checkpoint, filename, config,
                              partial=partial, logger=runner.logger)

    # ---------------------------------------------------------------- saving
    @property
    def _atomic(self) -> bool:
        """Atomic saves need a local folder (``os.replace``)."""
        return isinstance(getattr(self, 'file_backend', None), LocalBackend)

    def _save_atomic(self, runner, filename: str, **kwargs) -> None:
        """``runner.save_checkpoint`` to a temporary file, then rename it
        to ``filename`` in ``self.out_dir``."""
        final = self.file_backend.join_path(self.out_dir, filename)
        tmp = temporary_name(final)
        try:
            runner.save_checkpoint(
                self.out_dir, osp.basename(tmp), self.file_client_args,
                backend_args=self.backend_args, **kwargs)
            if is_main_process():
                atomic_replace(tmp, final)
        finally:
            if osp.exists(tmp):
                os.remove(tmp)

    def _remove_checkpoint(self, runner, path: Optional[str]) -> None:
        if not path or not is_main_process():
            return
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # deepspeed checkpoints
            self.file_backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Save ``step``'s checkpoint, point ``last_checkpoint`` at it, and
        only then delete the one that ``max_keep_ckpts`` drops."""
        if not self._atomic:
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = None
        if self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            # Saved in the checkpoint: the list after this save.
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self._save_atomic(
            runner, ckpt_filename, save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta,
            by_epoch=self.by_epoch, **self.args)
        if not is_main_process():
            return
        write_text_atomic(osp.join(runner.work_dir, 'last_checkpoint'),
                          self.last_ckpt)
        if outdated is not None:
            self._remove_checkpoint(
                runner, self.file_backend.join_path(
                    self.out_dir, self.filename_tmpl.format(outdated)))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's best-checkpoint logic, saving the new best before
        deleting the previous one."""
        if not self._atomic:
            return super()._save_best_checkpoint(runner, metrics)
        if not self.save_best:
            return
        if self.by_epoch:
            ckpt_filename = self.filename_tmpl.format(runner.epoch)
            cur_type, cur_time = 'epoch', runner.epoch
        else:
            ckpt_filename = self.filename_tmpl.format(runner.iter)
            cur_type, cur_time = 'iter', runner.iter
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])

        best_ckpt_updated = False
        hub = runner.message_hub
        for key_indicator, rule in zip(self.key_indicators, self.rules):
            key_score = metrics[key_indicator]
            single = len(self.key_indicators) == 1
            best_score_key = 'best_score' if single else \
                f'best_score_{key_indicator}'
            runtime_best_ckpt_key = 'best_ckpt' if single else \
                f'best_ckpt_{key_indicator}'
            previous = self.best_ckpt_path if single else \
                self.best_ckpt_path_dict[key_indicator]
            best_score = hub.get_info(best_score_key) \
                if best_score_key in hub.runtime_info \
                else self.init_value_map[rule]
            if key_score is None or not self.is_better_than[key_indicator](
                    key_score, best_score):
                continue
            best_ckpt_updated = True
            best_score = key_score
            hub.update_info(best_score_key, best_score)

            best_ckpt_name = f'best_{key_indicator}_{ckpt_filename}'
            best_ckpt_name = best_ckpt_name.replace('/', '_')
            path = self.file_backend.join_path(self.out_dir, best_ckpt_name)
            if single:
                self.best_ckpt_path = path
            else:
                self.best_ckpt_path_dict[key_indicator] = path
            hub.update_info(runtime_best_ckpt_key, path)
            self._save_atomic(
                runner, best_ckpt_name, save_optimizer=False,
                save_param_scheduler=False, meta=meta, by_epoch=False)
            runner.logger.info(
                f'The best checkpoint with {best_score:0.4f} {key_indicator} '
                f'at {cur_time} {cur_type} is saved to {best_ckpt_name}.')
            if previous and previous != path and is_main_process() and \
                    self.file_backend.exists(previous):
                self._remove_checkpoint(runner, previous)
                runner.logger.info(
                    f'The previous best checkpoint {previous} is removed')

        # As mmengine: save the epoch's checkpoint again so that the best
        # score and path in its message hub are the new ones.
        if best_ckpt_updated and self.last_ckpt is not None:
            self._save_checkpoint_with_step(runner, cur_time, meta)
