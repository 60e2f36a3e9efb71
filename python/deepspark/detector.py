"""pycaffe's Detector: classifies windows (crops) of images, as R-CNN does,
optionally widening each window by some context first."""
import os

import numpy as np

from . import io as _io
from . import Net, TEST  # deepspark imports this module once Net is defined
from .classifier import input_transformer


class Detector(Net):
    """Detector(model_file, pretrained_file, mean=None, input_scale=None,
    raw_scale=None, channel_swap=None, context_pad=None), as pycaffe's.

    Each window (ymin, xmin, ymax, xmax) of an image is cropped, warped to the
    net's input size and classified. context_pad: pixels of context (in the
    warped crop) to take around each window, as R-CNN's; where the widened
    window leaves the image the crop is filled with the mean.
    """

    def __init__(self, model_file, pretrained_file, mean=None, input_scale=None,
                 raw_scale=None, channel_swap=None, context_pad=None):
        super().__init__(model_file, pretrained_file, TEST)
        self.transformer = input_transformer(self, mean, input_scale, raw_scale, channel_swap)
        self.configure_crop(context_pad)

    def detect_windows(self, images_windows):
        """images_windows: (image file name, [window, ...]) pairs. Returns one
        {"window", "prediction", "filename"} dict per window, in order; the
        prediction is the net's first output for the warped crop."""
        images_windows = [(name, list(windows)) for name, windows in images_windows]
        crops = []
        for name, windows in images_windows:
            image = _io.load_image(name).astype(np.float32)
            for window in windows:
                crops.append(self.crop(image, window))
        in_ = self.inputs[0]
        batch = np.zeros((len(crops), crops[0].shape[2]) + self.blobs[in_].data.shape[2:],
                         dtype=np.float32)
        for ix, crop in enumerate(crops):
            batch[ix] = self.transformer.preprocess(in_, crop)
        predictions = self.forward_all(**{in_: batch})[self.outputs[0]]
        detections = []
        ix = 0
        for name, windows in images_windows:
            for window in windows:
                detections.append({"window": window, "prediction": predictions[ix],
                                   "filename": name})
                ix += 1
        return detections

    def detect_selective_search(self, image_fnames):
        """detect_windows over Selective Search's proposals (needs the
        selective_search_ijcv_with_python module, as pycaffe's)."""
        import selective_search_ijcv_with_python as selective_search
        image_fnames = [os.path.abspath(f) for f in image_fnames]
        windows_list = selective_search.get_windows(image_fnames, cmd="selective_search_rcnn")
        return self.detect_windows(zip(image_fnames, windows_list))

    def crop(self, im, window):
        """The H x W x K crop of `im` for `window` (ymin, xmin, ymax, xmax),
        with context_pad pixels of context when configured (then already the
        net's input size, padded with the mean outside the image)."""
        window = np.asarray(window)
        crop = im[int(window[0]):int(window[2]), int(window[1]):int(window[3])]
        if not self.context_pad:
            return crop
        size = self.blobs[self.inputs[0]].data.shape[3]  # a square input
        scale = size / (1.0 * size - self.context_pad * 2)
        half_h = (window[2] - window[0] + 1) / 2.0
        half_w = (window[3] - window[1] + 1) / 2.0
        centre = np.array([window[0] + half_h, window[1] + half_w])
        box = np.round(np.tile(centre, 2) + scale * np.array([-half_h, -half_w, half_h, half_w]))
        scale_h = size / (box[2] - box[0] + 1)
        scale_w = size / (box[3] - box[1] + 1)
        pad_y = int(round(max(0, -box[0]) * scale_h))  # rows of context outside the image
        pad_x = int(round(max(0, -box[1]) * scale_w))
        im_h, im_w = im.shape[:2]
        box = np.clip(box, 0.0, [im_h, im_w, im_h, im_w])
        clip_h, clip_w = box[2] - box[0] + 1, box[3] - box[1] + 1
        if not (clip_h > 0 and clip_w > 0):
            raise ValueError("window %s is outside the image" % (list(window),))
        crop_h = min(int(round(clip_h * scale_h)), size - pad_y)
        crop_w = min(int(round(clip_w * scale_w)), size - pad_x)
        box = box.astype(int)
        context = _io.resize_image(im[box[0]:box[2], box[1]:box[3]], (crop_h, crop_w))
        crop = np.ones(self.crop_dims, dtype=np.float32) * self.crop_mean
        crop[pad_y:pad_y + crop_h, pad_x:pad_x + crop_w] = context
        return crop

    def configure_crop(self, context_pad):
        """Sets crop_dims (the input's H x W x K) and, for context padding,
        crop_mean: the mean in the images' own space (before channel swap and
        raw scale), to fill context outside the image."""
        in_ = self.inputs[0]
        back = np.argsort(self.transformer.transpose[in_])
        self.crop_dims = np.array(self.blobs[in_].data.shape[1:])[back]
        self.context_pad = context_pad
        if not context_pad:
            return
        mean = self.transformer.mean.get(in_)
        if mean is None:
            self.crop_mean = np.zeros(self.crop_dims, dtype=np.float32)
            return
        crop_mean = np.array(mean, dtype=np.float32).transpose(back)
        swap = self.transformer.channel_swap.get(in_)
        if swap is not None:
            crop_mean = crop_mean[:, :, np.argsort(swap)]
        raw_scale = self.transformer.raw_scale.get(in_)
        if raw_scale is not None:
            crop_mean /= raw_scale
        self.crop_mean = crop_mean
