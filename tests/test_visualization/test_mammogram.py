"""Display windowing, box drawing (pixel checks), per-image hits, ranking
and the contact sheet."""
import numpy as np
import pytest

from mmdet_inbreast.visualization import (GT_COLOR, PRED_COLOR, ImageHits,
                                          contact_sheet, downscale,
                                          draw_boxes, image_hits, is_failure,
                                          rank_images,
                                          render_mammogram, save_rgb,
                                          window_for_display)


def mammogram(h=200, w=160, seed=0):
    """Tissue 1000-3000 in the left 100 columns, background 0 elsewhere."""
    img = np.zeros((h, w), np.uint16)
    img[:, :100] = np.random.default_rng(seed).integers(1000, 3001, (h, 100))
    return img


def test_window_background_black_and_range():
    img = mammogram()
    out = window_for_display(img)
    assert out.dtype == np.uint8 and out.shape == img.shape
    assert (out[:, 100:] == 0).all()  # background stays black
    tissue = img[:, :100].astype(float)
    lo, hi = np.percentile(tissue, [1, 99.5])
    assert (out[img >= hi] == 255).all()
    assert (out[(img <= lo) & (img > 0)] == 0).all()
    mid = (img > lo) & (img < hi)
    expected = np.rint((img[mid] - lo) * 255 / (hi - lo))
    assert np.abs(out[mid].astype(float) - expected).max() <= 1
    # Monotonic in the raw value.
    order = np.argsort(img[:, :100].ravel(), kind='stable')
    assert (np.diff(out[:, :100].ravel()[order].astype(int)) >= 0).all()


def test_window_edge_cases():
    assert (window_for_display(np.zeros((5, 5), np.uint16)) == 0).all()
    flat = np.zeros((4, 4), np.float32)
    flat[:2] = 7.0
    out = window_for_display(flat[..., None])  # (H, W, 1) accepted
    assert (out[:2] == 128).all() and (out[2:] == 0).all()
    with pytest.raises(ValueError, match=r'shape \(4, 4, 3\)'):
        window_for_display(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match='low=50'):
        window_for_display(flat, low=50, high=10)


def test_downscale():
    img = np.zeros((400, 100), np.uint8)
    small, scale = downscale(img, 200)
    assert small.shape == (200, 50) and scale == 0.5
    same, scale = downscale(img, 1000)  # never enlarges
    assert same is img and scale == 1.0
    assert downscale(img, None)[1] == 1.0


def border_pixels(img, box, width=2):
    """Pixels within ``width`` of the edges of an x1, y1, x2, y2 box."""
    x1, y1, x2, y2 = box
    mask = np.zeros(img.shape[:2], bool)
    mask[y1 - width:y2 + width + 1, x1 - width:x2 + width + 1] = True
    mask[y1 + width + 1:y2 - width, x1 + width + 1:x2 - width] = False
    return img[mask]


def count_color(pixels, color):
    return int((pixels == np.asarray(color, np.uint8)).all(axis=-1).sum())


def test_draw_boxes_colors():
    gray = np.full((200, 160), 90, np.uint8)
    gt, pred = (20, 40, 70, 90), (90, 100, 140, 170)
    out = draw_boxes(gray, gt_bboxes=[gt], pred_bboxes=[pred],
                     pred_scores=[0.87], line_width=2)
    assert out.shape == (200, 160, 3) and out.dtype == np.uint8
    assert gray.shape == (200, 160)  # input untouched
    gt_border = border_pixels(out, gt)
    pred_border = border_pixels(out, pred)
    # The GT border is pure red all along (at least one pixel per border
    # pixel of the box) and has no blue; the prediction's border is blue.
    assert count_color(gt_border, GT_COLOR) >= 2 * (50 + 50)
    assert count_color(gt_border, PRED_COLOR) == 0
    assert count_color(pred_border, PRED_COLOR) >= 2 * (50 + 70)
    assert count_color(pred_border, GT_COLOR) == 0
    # Inside the boxes and far from them the image is unchanged.
    assert (out[60:70, 40:50] == 90).all() and (out[5:15, 150:158] == 90).all()
    # The score is written above the prediction: light (anti-aliased white)
    # text on blue.
    label = out[80:99, 90:130]
    assert ((label > 180).all(axis=-1)).sum() > 5
    assert count_color(label, PRED_COLOR) > 20


def test_draw_boxes_scale_and_checks():
    gray = np.zeros((100, 80), np.uint8)
    # A box in original pixels of a 2x larger image lands at half position.
    out = draw_boxes(gray, gt_bboxes=np.array([[40.0, 60, 120, 160]]),
                     scale=0.5, line_width=2)
    assert count_color(border_pixels(out, (20, 30, 60, 80)),
                       GT_COLOR) >= 2 * (40 + 50)
    assert count_color(out[:25], GT_COLOR) == 0
    with pytest.raises(ValueError, match='2 predicted boxes but 1 scores'):
        draw_boxes(gray, pred_bboxes=np.zeros((2, 4)), pred_scores=[0.5])
    with pytest.raises(ValueError, match=r'\(N, 4\)'):
        draw_boxes(gray, gt_bboxes=np.zeros((2, 5)))


def test_render_mammogram(tmp_path):
    img = mammogram(400, 320)
    out = render_mammogram(img, [[10, 20, 60, 80]], [[200, 200, 300, 300]],
                           [0.5], max_size=200)
    assert out.shape == (200, 160, 3)
    assert (out[100:190, 80:95] == 0).all()  # background stays black
    assert count_color(out, GT_COLOR) > 0 and count_color(out, PRED_COLOR) > 0
    import cv2
    path = save_rgb(str(tmp_path / 'sub' / 'x.png'), out)
    back = cv2.imread(path)[..., ::-1]  # BGR on disk
    np.testing.assert_array_equal(back, out)


@pytest.mark.parametrize('preds,scores,gts,flags,thr,expected', [
    # one hit, one false positive
    ([[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.8], [[0, 0, 10, 11]],
     None, 0.3, (1, 1, 0, 1)),
    # the FP is below the threshold
    ([[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.2], [[0, 0, 10, 11]],
     None, 0.3, (1, 0, 0, 1)),
    # IoU 0.25 < 0.5: a miss and a false positive
    ([[0, 0, 10, 10]], [0.9], [[5, 5, 15, 15]], None, 0.3, (0, 1, 1, 1)),
    # a duplicate on a found box is neither
    ([[0, 0, 10, 10], [0, 0, 10, 9]], [0.9, 0.8], [[0, 0, 10, 10]], None,
     0.3, (1, 0, 0, 1)),
    # negative image
    ([[0, 0, 10, 10]], [0.9], np.zeros((0, 4)), None, 0.3, (0, 1, 0, 0)),
    # ignored box: not counted, prediction on it not a FP
    ([[0, 0, 10, 10]], [0.9], [[0, 0, 10, 10]], [True], 0.3, (0, 0, 0, 0)),
    # no prediction
    (np.zeros((0, 4)), [], [[0, 0, 10, 10]], None, 0.3, (0, 0, 1, 1)),
])
def test_image_hits(preds, scores, gts, flags, thr, expected):
    h = image_hits(np.asarray(preds, float), scores, np.asarray(gts, float),
                   flags, score_thr=thr)
    assert (h.tp, h.fp, h.missed, h.num_gt) == expected
    assert h.score == h.tp - h.fp


def test_rank_images():
    hits = [
        ImageHits(tp=0, fp=0, missed=1, num_gt=1),  # missed, no FP
        ImageHits(tp=1, fp=0, missed=0, num_gt=1),  # perfect
        ImageHits(tp=0, fp=3, missed=0, num_gt=0),  # 3 FP
        ImageHits(tp=0, fp=0, missed=0, num_gt=0),  # clean negative
        ImageHits(tp=2, fp=1, missed=0, num_gt=2),  # 2 found, 1 FP
        ImageHits(tp=0, fp=1, missed=2, num_gt=2),  # 2 missed, 1 FP
    ]
    names = ['a', 'b', 'c', 'd', 'e', 'f']
    # Missed ascending (0: b c d e; 1: a; 2: f), then FP ascending (b d: 0,
    # e: 1, c: 3), then found descending (b before d).
    assert rank_images(hits, names) == [1, 3, 4, 2, 0, 5]
    assert rank_images(hits) == [1, 3, 4, 2, 0, 5]
    assert [is_failure(h) for h in hits] == [True, False, True, False, True,
                                             True]


def sheet_geometry(tile):
    caption = max(16, tile // 14)
    return caption, caption * 4


def tile_color(sheet, tile, row, col):
    caption, label_w = sheet_geometry(tile)
    y = row * (tile + caption) + caption + tile // 2
    x = label_w + col * tile + tile // 2
    return tuple(int(v) for v in sheet[y, x])


def test_contact_sheet(tmp_path):
    # Flat images of distinct colours identify the tiles.
    colors = [(200, 0, 0), (0, 200, 0), (0, 0, 200), (200, 200, 0),
              (0, 200, 200), (200, 0, 200)]
    images = [np.full((60, 40, 3), c, np.uint8) for c in colors]
    hits = [ImageHits(1, 0, 0, 1), ImageHits(0, 2, 0, 0),
            ImageHits(0, 0, 0, 0), ImageHits(2, 0, 0, 2),
            ImageHits(0, 1, 1, 1), ImageHits(0, 0, 1, 1)]
    names = ['i0', 'i1', 'i2', 'i3', 'i4', 'i5']
    # Ranking: i3, i0, i2 (no failure), i1 (2 FP), i5 (1 missed), i4 (1
    # missed, 1 FP). Worst row: i4, i5 (misses first, then FP).
    tile = 100
    caption, label_w = sheet_geometry(tile)
    paths = [save_rgb(str(tmp_path / f'{n}.png'), im)
             for n, im in zip(names, images)]
    for source in (images, paths):  # arrays or saved files
        sheet = contact_sheet(source, hits, names, num=2, tile_size=tile)
        assert sheet.shape == (2 * (tile + caption), label_w + 2 * tile, 3)
        assert tile_color(sheet, tile, 0, 0) == colors[3]
        assert tile_color(sheet, tile, 0, 1) == colors[0]
        assert tile_color(sheet, tile, 1, 0) == colors[4]
        assert tile_color(sheet, tile, 1, 1) == colors[5]
        # Captions are written (dark text on the white bands).
        assert (sheet[:caption, label_w:] < 100).any()
    # num=3: the third worst is the image with false positives only, and
    # the best row never repeats a worst image.
    sheet = contact_sheet(images, hits, names, num=3, tile_size=tile)
    assert [tile_color(sheet, tile, 1, c) for c in range(3)] == [
        colors[4], colors[5], colors[1]]
    assert [tile_color(sheet, tile, 0, c) for c in range(3)] == [
        colors[3], colors[0], colors[2]]
    with pytest.raises(ValueError, match='2 images, 3 hits'):
        contact_sheet(images[:2], hits[:3], names[:3])
    with pytest.raises(ValueError, match='at least one'):
        contact_sheet([], [], [])


def test_contact_sheet_without_failures():
    # Every image perfect: no negative with 0 FP is shown as "worst"; the
    # row holds a sentence instead (dark text on white), no image tile.
    colors = [(200, 0, 0), (0, 200, 0), (0, 0, 200)]
    images = [np.full((60, 40, 3), c, np.uint8) for c in colors]
    hits = [ImageHits(1, 0, 0, 1), ImageHits(0, 0, 0, 0),
            ImageHits(2, 0, 0, 2)]
    tile = 100
    caption, label_w = sheet_geometry(tile)
    sheet = contact_sheet(images, hits, ['a', 'b', 'c'], num=4,
                          tile_size=tile)
    assert sheet.shape == (2 * (tile + caption), label_w + 3 * tile, 3)
    assert [tile_color(sheet, tile, 0, c) for c in range(3)] == [
        colors[2], colors[0], colors[1]]
    worst_row = sheet[tile + caption:, label_w:]
    for c in colors:  # no tile of any image in the bottom row
        assert not np.all(worst_row == np.array(c, np.uint8), axis=2).any()
    text = worst_row[caption:] < 100
    assert text.any()  # the sentence
    # The same sheet with one failure shows that image's tile instead.
    hits[1] = ImageHits(0, 1, 0, 0)
    sheet = contact_sheet(images, hits, ['a', 'b', 'c'], num=4,
                          tile_size=tile)
    assert tile_color(sheet, tile, 1, 0) == colors[1]
