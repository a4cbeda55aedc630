"""Sapiens2's pre-processing and overlay, as its own code runs them (facebookresearch/sapiens2:
sapiens/dense/src/datasets/transforms/seg_transforms.py SegResize, the ImagePreprocessor of the seg configs,
sapiens/dense/src/visualizers/seg_visualizer.py), for the parity tests.

  sapiens2_reference.py preprocess PICTURE OUT.npy     the float32 (3, 1024, 768) input tensor
  sapiens2_reference.py blend OUT.npy                  cv2.addWeighted(a, 0.5, b, 0.5, 0) for every (a, b) in 0..255
"""
import sys

import cv2
import numpy as np

MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)  # RGB, 0-255 scale (sapiens2 seg configs)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def preprocess(path):
    img = cv2.imread(path)  # BGR, as vis_seg.py reads it
    h, w = img.shape[:2]
    new_w, new_h = 768, 1024
    interpolation = cv2.INTER_AREA if new_w < w else cv2.INTER_CUBIC  # SegResize: decided by the width alone
    resized = cv2.resize(img, (new_w, new_h), interpolation=interpolation)
    rgb = resized[:, :, ::-1].astype(np.float32)  # bgr_to_rgb, then float
    return ((rgb - MEAN) / STD).transpose(2, 0, 1).astype(np.float32)


def blend():
    a = np.repeat(np.arange(256, dtype=np.uint8), 256).reshape(256, 256)
    b = np.tile(np.arange(256, dtype=np.uint8), 256).reshape(256, 256)
    return cv2.addWeighted(a, 0.5, b, 0.5, 0)


if __name__ == "__main__":
    if sys.argv[1] == "preprocess":
        np.save(sys.argv[3], np.ascontiguousarray(preprocess(sys.argv[2])))
    else:
        np.save(sys.argv[2], blend())
