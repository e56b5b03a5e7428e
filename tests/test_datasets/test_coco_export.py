"""COCO export: pycocotools loads it, the boxes are the dataset's, negatives
are listed without annotations, 16-bit PNGs keep the raw pixels."""
import json
import os.path as osp

import numpy as np
import pytest

from mmdet_inbreast.datasets import INbreastDataset
from mmdet_inbreast.datasets.coco_export import (export_coco, infos_to_coco,
                                                 write_png16)


def dataset_infos(release, ann_file=''):
    ds = INbreastDataset(data_root=release, ann_file=ann_file, pipeline=[],
                         test_mode=True, serialize_data=False)
    return list(ds.data_list)


def test_export_matches_dataset(synthetic_release, tmp_path):
    from pycocotools.coco import COCO
    release, images = synthetic_release
    out = tmp_path / 'all.json'
    export_coco(release, str(out))
    coco = COCO(str(out))
    infos = dataset_infos(release)
    assert sorted(coco.getImgIds()) == sorted(i['img_id'] for i in infos)
    assert coco.loadCats(coco.getCatIds()) == [
        dict(id=1, name='mass', supercategory='lesion')
    ]
    for info in infos:
        img = coco.loadImgs(info['img_id'])[0]
        assert img['id'] == int(info['file_name'])
        assert (img['width'], img['height']) == (info['width'],
                                                  info['height'])
        assert img['file_name'] == osp.relpath(info['img_path'], release)
        assert img['file_name'].startswith('AllDICOMs/')
        for key in ('patient_id', 'laterality', 'view', 'birads'):
            assert img[key] == info[key]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[info['img_id']]))
        assert len(anns) == len(info['instances'])
        for ann, inst in zip(anns, info['instances']):
            x, y, w, h = ann['bbox']
            np.testing.assert_allclose([x, y, x + w, y + h], inst['bbox'],
                                       rtol=0, atol=1e-9)
            assert ann['area'] == pytest.approx(w * h)
            assert ann['iscrowd'] == 0 and ann['category_id'] == 1
    # Negatives are images without annotations, as many as the generator
    # wrote (and the dataset reads).
    negatives = [i for i in coco.getImgIds() if not coco.getAnnIds(imgIds=[i])]
    assert len(negatives) == sum(1 for i in images if not i.mass_boxes) > 0
    assert len(coco.getAnnIds()) == sum(len(i.mass_boxes) for i in images)
    # Annotation ids are unique and start at 1 (0 is falsy in some tools).
    ids = [a['id'] for a in coco.dataset['annotations']]
    assert sorted(ids) == list(range(1, len(ids) + 1))


def test_ground_truth_as_detections_scores_ap_1(synthetic_release, tmp_path):
    """The JSON works with COCOeval: the ground truth scores AP 1."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    release, _ = synthetic_release
    out = tmp_path / 'all.json'
    export_coco(release, str(out))
    gt = COCO(str(out))
    dets = [dict(image_id=a['image_id'], category_id=a['category_id'],
                 bbox=a['bbox'], score=1.0) for a in gt.dataset['annotations']]
    ev = COCOeval(gt, gt.loadRes(dets), 'bbox')
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[1] == pytest.approx(1.0)  # AP50


def test_split_and_png(synthetic_release, tmp_path):
    import cv2
    from pycocotools.coco import COCO

    from mmdet_inbreast.datasets.transforms.loading import read_dicom_pixels
    release, images = synthetic_release
    keys = [images[0].file_name, images[5].file_name, images[9].file_name]
    split = tmp_path / 'part.txt'
    split.write_text('\n'.join(keys) + '\n')
    out = tmp_path / 'coco' / 'part.json'
    content = export_coco(release, str(out), ann_file=str(split),
                          png_dir=str(tmp_path / 'png'))
    coco = COCO(str(out))
    assert sorted(coco.getImgIds()) == sorted(int(k) for k in keys)
    assert json.loads(out.read_text()) == content
    for img in coco.loadImgs(coco.getImgIds()):
        assert img['file_name'] == f"{img['id']}.png"
        png = cv2.imread(str(tmp_path / 'png' / img['file_name']),
                         cv2.IMREAD_UNCHANGED)
        assert png.dtype == np.uint16 and png.ndim == 2
        assert png.shape == (img['height'], img['width'])
        pixels, _ = read_dicom_pixels(osp.join(release, img['dicom_file']))
        np.testing.assert_array_equal(png, pixels)


def test_infos_to_coco_checks():
    info = dict(img_id=12345678, file_name='12345678', img_path='x.dcm',
                width=10, height=10,
                instances=[dict(bbox=[5, 5, 2, 8], bbox_label=0)])
    with pytest.raises(ValueError, match='x2 < x1'):
        infos_to_coco([info])
    info['instances'] = [dict(bbox=[1, 1, 2, 2], bbox_label=1)]
    with pytest.raises(ValueError, match="bbox_label 1 .*\\('mass',\\)"):
        infos_to_coco([info])
    two = infos_to_coco([info], classes=('mass', 'cluster'))
    assert two['annotations'][0]['category_id'] == 2
    assert [c['id'] for c in two['categories']] == [1, 2]


def test_write_png16(tmp_path):
    import cv2
    f = np.array([[0.0, 1.4], [16383.0, 2.6]], np.float32)
    write_png16(str(tmp_path / 'f.png'), f)
    back = cv2.imread(str(tmp_path / 'f.png'), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, [[0, 1], [16383, 3]])
    with pytest.raises(ValueError, match='does not fit a 16-bit PNG'):
        write_png16(str(tmp_path / 'n.png'), np.array([[-5.0]]))


def test_bad_files_skipped_and_listed(synthetic_release, tmp_path):
    """A file the scan refuses and a file that fails to decode are left
    out of ``images``, named in ``info.skipped``; the export goes on."""
    import shutil
    from unittest import mock

    import pydicom

    from mmdet_inbreast.datasets import coco_export
    src, images = synthetic_release
    root = tmp_path / 'INbreast Release 1.0'
    shutil.copytree(src, root)
    ct, bad = images[0], images[5]
    ct_path = str(root / 'AllDICOMs' / osp.basename(ct.dicom_path))
    ds = pydicom.dcmread(ct_path)
    ds.Modality = 'CT'
    ds.save_as(ct_path)
    real = coco_export.read_dicom_pixels

    def fails_once(path, *args):
        if bad.file_name in path:  # broken after the scan
            raise coco_export.DicomError(f'{path}: cannot decode pixel data')
        return real(path, *args)

    out = tmp_path / 'c.json'
    with mock.patch.object(coco_export, 'read_dicom_pixels', fails_once):
        coco = export_coco(str(root), str(out), png_dir=str(tmp_path / 'png'))
    ids = {i['id'] for i in coco['images']}
    assert len(ids) == 20
    assert int(ct.file_name) not in ids and int(bad.file_name) not in ids
    skipped = {s['file_name']: s for s in coco['info']['skipped']}
    assert set(skipped) == {ct.file_name, bad.file_name}
    assert skipped[ct.file_name]['reason'] == 'not a mammogram (Modality)'
    assert "Modality 'CT'" in skipped[ct.file_name]['error']
    assert skipped[bad.file_name]['reason'] == 'pixels not decodable'
    assert not osp.exists(tmp_path / 'png' / f'{bad.file_name}.png')
    assert len(list((tmp_path / 'png').glob('*.png'))) == 20
    with open(out) as f:
        assert json.load(f)['info']['skipped'] == coco['info']['skipped']
