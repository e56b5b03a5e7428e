"""High-level APIs: training and testing (``python -m
mmdet_inbreast.apis.train`` / ``.test``), DICOM inference, split
visualisation, config sweeps.

Not imported by ``mmdet_inbreast/__init__.py`` (nothing here registers a
component); import it as ``from mmdet_inbreast.apis import ...``.
"""
from .inference import (DEFAULT_MODALITIES, DicomPrediction, InferenceReport,
                        build_dicom_pipeline, check_dicom_header,
                        dicom_inference_pipeline_cfg, find_dicom_files,
                        infer_dicoms, init_inbreast_detector, output_names,
                        predict_dicom)
from .sweep import (METRIC_COLUMNS, SUMMARY_COLUMNS, TEST_MODULE,
                    TRAIN_MODULE, SweepRun, collect_row, find_checkpoint,
                    find_test_metrics, plan_sweep, run_state, run_sweep,
                    summary_table, test_command, train_command,
                    train_time_from_scalars, write_summary)
from .visualize import load_split_infos, visualize_split

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
