"""High-level APIs: training and testing (``python -m
mmdet_inbreast.apis.train`` / ``.test``), DICOM inference, split
visualisation, config sweeps.

Not imported by ``mmdet_inbreast/__init__.py`` (nothing here registers a
component); import it as ``from mmdet_inbreast.apis import ...``.
"""
from .batch_inference import (InferenceReport, find_dicom_files,
                              infer_dicoms, output_names)
from .inference import (DEFAULT_MODALITIES, DicomPrediction,
                        build_dicom_pipeline, check_dicom_header,
                        dicom_inference_pipeline_cfg, init_inbreast_detector,
                        predict_dicom)
from .sweep import (TEST_MODULE, TRAIN_MODULE, SweepRun, plan_sweep,
                    run_sweep, test_command, train_command)
from .sweep_summary import (SUMMARY_COLUMNS, collect_row, summary_table,
                            write_summary)
from .visualize import load_split_infos, visualize_split
from .work_dir import (METRIC_COLUMNS, find_checkpoint, find_test_metrics,
                       run_state, train_time_from_scalars)

__all__ = [
    'DEFAULT_MODALITIES', 'DicomPrediction', 'InferenceReport',
    'METRIC_COLUMNS', 'SUMMARY_COLUMNS', 'TEST_MODULE', 'TRAIN_MODULE',
    'SweepRun', 'build_dicom_pipeline',
    'check_dicom_header', 'collect_row', 'dicom_inference_pipeline_cfg',
    'find_checkpoint', 'find_dicom_files', 'find_test_metrics',
    'infer_dicoms', 'init_inbreast_detector', 'load_split_infos',
    'output_names', 'plan_sweep', 'predict_dicom', 'run_state', 'run_sweep',
    'summary_table', 'test_command', 'train_command',
    'train_time_from_scalars',
    'visualize_split', 'write_summary'
]
