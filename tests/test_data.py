"""Ground-truth files: LOC csv (several boxes), label-per-line (wnids or devkit ids), Pascal VOC."""

import numpy as np
import pytest

from ilsvrc_keras import DataError
from ilsvrc_keras.data import labeled_images, read_ground_truth


def test_loc_csv_with_several_boxes(val_sample):
    truth = read_ground_truth(val_sample / "LOC_val_solution.csv")
    assert len(truth) == 100
    assert truth["ILSVRC2012_val_00000010"].label == "n02328150"
    assert truth["ILSVRC2012_val_00000010"].boxes[0][1] == (0.0, 0.0, 495.0, 374.0)
    assert any(len(t.boxes) > 1 for t in truth.values())


def test_label_per_line_wnids(tmp_path):
    f = tmp_path / "val_labels.txt"
    f.write_text("n01751748\nn09193705\n")
    truth = read_ground_truth(f)
    assert truth["ILSVRC2012_val_00000002"].label == "n09193705"


def test_devkit_integer_ids_use_meta_mat(tmp_path):
    from scipy.io import savemat

    synsets = np.zeros((2,), dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O")])
    synsets[0] = (490, "n01751748")
    synsets[1] = (361, "n09193705")
    f = tmp_path / "ILSVRC2012_validation_ground_truth.txt"
    f.write_text("490\n361\n")
    with pytest.raises(DataError, match="meta.mat"):
        read_ground_truth(f)
    savemat(tmp_path / "meta.mat", {"synsets": synsets})
    truth = read_ground_truth(f)
    assert truth["ILSVRC2012_val_00000001"].label == "n01751748"
    assert truth["ILSVRC2012_val_00000002"].label == "n09193705"


def test_pascal_voc_folder(tmp_path):
    (tmp_path / "ILSVRC2012_val_00000001.xml").write_text(
        "<annotation><object><name>n01751748</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>30</xmax>"
        "<ymax>40</ymax></bndbox></object><object><name>n01751748</name><bndbox><xmin>5</xmin><ymin>6</ymin>"
        "<xmax>7</xmax><ymax>8</ymax></bndbox></object></annotation>")
    truth = read_ground_truth(tmp_path)
    t = truth["ILSVRC2012_val_00000001"]
    assert t.label == "n01751748" and t.boxes[1] == ("n01751748", (5.0, 6.0, 7.0, 8.0))


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        labeled_images(tmp_path / "missing")
    with pytest.raises(DataError, match="labels file"):
        labeled_images(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n")
    with pytest.raises(DataError, match="ImageId,PredictionString"):
        read_ground_truth(bad)


def test_limit_keeps_sorted_order(val_sample):
    items = labeled_images(val_sample / "images", val_sample / "LOC_val_solution.csv", limit=5)
    assert len(items) == 5 and items.paths == sorted(items.paths)
