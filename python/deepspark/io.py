"""Conversions between numpy and Caffe's Datum / BlobProto, LMDB access, and
pycaffe's image helpers (Transformer, load_image, resize_image, oversample).

As pycaffe's, array_to_datum and array_to_blobproto return caffe_pb2
messages (deepspark.proto.caffe_pb2) and datum_to_array and
blobproto_to_array take them (or their serialized bytes); the conversions
themselves run in C++.
"""
import os

import numpy as np

from . import _deepspark


def _caffe_pb2():
    from .proto import caffe_pb2
    return caffe_pb2


def _bytes_of(message):
    return message.SerializeToString() if hasattr(message, "SerializeToString") else bytes(message)


def array_to_datum(arr, label=None):
    """A (C,H,W) array -> caffe_pb2.Datum: uint8 arrays go to `data`, others
    to `float_data`; `label` is set when given."""
    arr = np.asarray(arr)
    if arr.ndim != 3:
        raise ValueError("Incorrect array shape.")
    datum = _caffe_pb2().Datum.FromString(
        _deepspark.array_to_datum(arr, 0 if label is None else int(label)))
    if label is None:
        datum.ClearField("label")
    return datum


def datum_to_array(datum):
    """A Datum (caffe_pb2.Datum or its bytes) -> its (C,H,W) array: uint8
    from `data`, else float from `float_data` (the label is datum.label)."""
    return _deepspark.datum_to_array(_bytes_of(datum))[0]


def array_to_blobproto(arr, diff=None):
    """A numpy array (and optionally its diff) -> caffe_pb2.BlobProto with
    `shape`."""
    diff = None if diff is None else np.asarray(diff)
    return _caffe_pb2().BlobProto.FromString(
        _deepspark.array_to_blobproto(np.asarray(arr), diff))


def blobproto_to_array(blob, return_diff=False):
    """A BlobProto (caffe_pb2.BlobProto or its bytes, e.g. a mean file's
    contents) -> its array (or its diff)."""
    return _deepspark.blobproto_to_array(_bytes_of(blob), bool(return_diff))


def load_blobproto(path):
    with open(path, "rb") as f:
        return blobproto_to_array(f.read())


class Encoded(bytes):
    """The bytes of an encoded image (JPEG, PNG or BMP), for write_lmdb to
    store as Caffe's encoded Datum (decoded by the Data layer)."""


def write_lmdb(path, items, backend="lmdb", batch=1000):
    """Writes (array or Encoded, label) pairs as Datums with keys 00000000,
    00000001, ... to a new database; returns the number written."""
    writer = _deepspark.DBWriter(str(path), backend, batch)
    n = 0
    try:
        for arr, label in items:
            if isinstance(arr, Encoded):
                writer.put("%08d" % n, _deepspark.encoded_datum(bytes(arr), int(label)))
            else:
                writer.put("%08d" % n, _deepspark.array_to_datum(np.asarray(arr), int(label)))
            n += 1
    finally:
        writer.close()
    return n


def read_lmdb(path, backend="lmdb", limit=-1):
    """[(array, label)] of the Datums in a database, in key order."""
    return [_deepspark.datum_to_array(v) for _, v in _deepspark.read_db(str(path), backend, limit)]


DBWriter = _deepspark.DBWriter


# pycaffe's preprocessing: Transformer, load_image, resize_image, oversample.
# Images are H x W x K float arrays (RGB, values in [0, 1] from load_image);
# a net's input is K x H x W, usually BGR in [0, 255] minus a mean.

class Transformer:
    """Prepares images for a net's inputs, as pycaffe's caffe.io.Transformer.

    `inputs` maps each input blob name to its shape (N, K, H, W), e.g.
    {"data": net.blobs["data"].data.shape}. preprocess() applies, in order:
    resize to (H, W), transpose, channel swap, raw scale, mean subtraction,
    input scale; deprocess() undoes them (but not the resize).
    """

    def __init__(self, inputs):
        self.inputs = inputs
        self.transpose = {}
        self.channel_swap = {}
        self.raw_scale = {}
        self.mean = {}
        self.input_scale = {}

    def _check_input(self, in_):
        if in_ not in self.inputs:
            raise Exception("{} is not one of the net inputs: {}".format(in_, self.inputs))

    def preprocess(self, in_, data):
        """(H' x W' x K) array -> (K x H x W) float32 array for input `in_`."""
        self._check_input(in_)
        out = np.asarray(data).astype(np.float32, copy=False)
        size = tuple(self.inputs[in_][2:])
        if tuple(out.shape[:2]) != size:
            out = resize_image(out, size)
        order = self.transpose.get(in_)
        if order is not None:
            out = out.transpose(order)
        swap = self.channel_swap.get(in_)
        if swap is not None:
            out = out[list(swap), :, :]
        # The steps below scale in place: never the caller's array.
        if isinstance(data, np.ndarray) and np.may_share_memory(out, data):
            out = out.copy()
        raw_scale = self.raw_scale.get(in_)
        if raw_scale is not None:
            out *= raw_scale
        mean = self.mean.get(in_)
        if mean is not None:
            out -= mean
        input_scale = self.input_scale.get(in_)
        if input_scale is not None:
            out *= input_scale
        return out

    def deprocess(self, in_, data):
        """Undoes preprocess (all but the resize): (K x H x W), or a batch of
        one, -> (H x W x K) as it was before preprocess."""
        self._check_input(in_)
        out = np.array(data, copy=True).squeeze()
        input_scale = self.input_scale.get(in_)
        if input_scale is not None:
            out /= input_scale
        mean = self.mean.get(in_)
        if mean is not None:
            out += mean
        raw_scale = self.raw_scale.get(in_)
        if raw_scale is not None:
            out /= raw_scale
        swap = self.channel_swap.get(in_)
        if swap is not None:
            out = out[np.argsort(swap), :, :]
        order = self.transpose.get(in_)
        if order is not None:
            out = out.transpose(np.argsort(order))
        return out

    def set_transpose(self, in_, order):
        """The order of the axes from the image's to the net's, e.g. (2, 0, 1)
        for H x W x K -> K x H x W."""
        self._check_input(in_)
        if len(order) != len(self.inputs[in_]) - 1:
            raise Exception("Transpose order needs to have the same number of "
                            "dimensions as the input.")
        self.transpose[in_] = order

    def set_channel_swap(self, in_, order):
        """The order in which to take the channels after the transpose, e.g.
        (2, 1, 0) for RGB -> BGR as Caffe's ImageNet models want."""
        self._check_input(in_)
        if len(order) != self.inputs[in_][1]:
            raise Exception("Channel swap needs to have the same number of "
                            "dimensions as the input channels.")
        self.channel_swap[in_] = order

    def set_raw_scale(self, in_, scale):
        """Multiplies the image before the mean is subtracted: 255 for models
        trained on [0, 255] pixels fed images in [0, 1] (load_image's)."""
        self._check_input(in_)
        self.raw_scale[in_] = scale

    def set_mean(self, in_, mean):
        """The mean to subtract: one value per channel (shape (K,)) or one per
        element (shape (K, H, W), or (H, W) for one channel)."""
        self._check_input(in_)
        mean = np.asarray(mean)
        shape = mean.shape
        if mean.ndim == 1:
            if shape[0] != self.inputs[in_][1]:
                raise ValueError("Mean channels incompatible with input.")
            mean = mean[:, np.newaxis, np.newaxis]
        else:
            if len(shape) == 2:
                shape = (1,) + shape
            if len(shape) != 3:
                raise ValueError("Mean shape invalid")
            if tuple(shape) != tuple(self.inputs[in_][1:]):
                raise ValueError("Mean shape incompatible with input shape.")
        self.mean[in_] = mean

    def set_input_scale(self, in_, scale):
        """Multiplies the input after the mean is subtracted."""
        self._check_input(in_)
        self.input_scale[in_] = scale


# skimage.color.rgb2gray's weights, which pycaffe's load_image(color=False)
# applies to colour images.
_GRAY_WEIGHTS = np.array([0.2125, 0.7154, 0.0721], dtype=np.float64)


def _decode(data, filename):
    """Encoded image bytes -> (H, W, K) uint8, K 1 or 3 (RGB)."""
    try:
        chw = _deepspark.decode_image(data)  # JPEG, PNG, BMP; (K, H, W) BGR
        hwc = chw.transpose(1, 2, 0)
        return hwc[:, :, ::-1] if hwc.shape[2] == 3 else hwc
    except _deepspark.DeepSparkError as error:
        decode_error = error
    try:  # other formats (GIF, TIFF, 16-bit PNG, ...) where Pillow is installed
        from PIL import Image
    except ImportError:
        raise IOError("cannot read image %s: %s" % (filename, decode_error)) from None
    import io as _pyio
    with Image.open(_pyio.BytesIO(data)) as image:
        if image.mode not in ("L", "RGB"):
            gray = image.mode in ("1", "LA", "I", "I;16", "F")
            image = image.convert("L" if gray else "RGB")
        arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise IOError("cannot read image %s: only 8-bit images are read" % filename)
    return arr[:, :, np.newaxis] if arr.ndim == 2 else arr


def load_image(filename, color=True):
    """Reads an image file as pycaffe's load_image: float32 in [0, 1], shape
    (H, W, 3) RGB when `color`, else (H, W, 1) intensity (a colour image is
    converted with skimage's rgb2gray weights). A grey image loaded with
    `color` is repeated over 3 channels; an alpha channel is dropped.
    JPEG, PNG and BMP are decoded by the engine's decoder (OpenCV); other
    formats need Pillow."""
    with open(os.fspath(filename), "rb") as f:
        data = f.read()
    img = _decode(data, filename).astype(np.float32) / np.float32(255)
    if img.shape[2] == 3 and not color:
        img = np.tensordot(img, _GRAY_WEIGHTS, axes=([2], [0]))
        img = img.astype(np.float32)[:, :, np.newaxis]
    elif img.shape[2] == 1 and color:
        img = np.tile(img, (1, 1, 3))
    return img


def _axis_taps(n_in, n_out, corners):
    """Linear interpolation along one axis: for each output index the two
    input indices and the weight of the second. `corners` puts the first and
    last samples on the first and last inputs (scipy.ndimage.zoom's grid);
    otherwise pixel centres line up (skimage.transform.resize's)."""
    out = np.arange(n_out, dtype=np.float64)
    if corners:
        pos = out * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    else:
        pos = (out + 0.5) * (n_in / float(n_out)) - 0.5
    lo = np.floor(pos).astype(np.int64)
    return lo, lo + 1, pos - lo


def _resample(im, axis, n_out, order, corners):
    """Resamples `im` along `axis` to n_out samples; outside the image counts
    as 0 (the 'constant' mode pycaffe asks of skimage)."""
    n_in = im.shape[axis]
    lo, hi, frac = _axis_taps(n_in, n_out, corners)
    shape = [1] * im.ndim
    shape[axis] = n_out

    def take(idx):
        inside = ((idx >= 0) & (idx < n_in)).reshape(shape)
        return np.take(im, np.clip(idx, 0, n_in - 1), axis=axis) * inside

    if order == 0:
        return take(np.floor(lo + frac + 0.5).astype(np.int64))
    w = frac.reshape(shape)
    return take(lo) * (1.0 - w) + take(hi) * w


def resize_image(im, new_dims, interp_order=1):
    """Resizes an (H, W, K) image to (new_dims[0], new_dims[1], K) float32,
    as pycaffe's resize_image: interp_order 1 (default) is linear, 0 nearest.
    Images of 1 or 3 channels are resized as skimage does it (pixel centres
    aligned, stretched to [0, 1] and back, so the border blends towards the
    image's minimum); others as scipy.ndimage.zoom (corners aligned). There
    is no smoothing before a downscale (pycaffe's skimage had none)."""
    if interp_order not in (0, 1):
        raise ValueError("interp_order must be 0 (nearest) or 1 (linear), not %r"
                         % (interp_order,))
    im = np.asarray(im)
    height, width = int(new_dims[0]), int(new_dims[1])
    if im.shape[-1] in (1, 3):
        lo, hi = im.min(), im.max()
        if not hi > lo:  # a constant image: nothing to interpolate
            out = np.empty((height, width) + im.shape[2:], dtype=np.float32)
            out.fill(lo)
            return out
        std = (im.astype(np.float64) - lo) / (float(hi) - float(lo))
        std = _resample(_resample(std, 0, height, interp_order, False), 1, width,
                        interp_order, False)
        out = std * (float(hi) - float(lo)) + float(lo)
    else:
        out = im.astype(np.float64)
        out = _resample(_resample(out, 0, height, interp_order, True), 1, width,
                        interp_order, True)
    return out.astype(np.float32)


def oversample(images, crop_dims):
    """The 10 crops pycaffe's Classifier averages over: the four corners and
    the centre of each (H, W, K) image, then the same five mirrored left to
    right. Returns (10 * N, crop_h, crop_w, K) float32, per image the five
    crops then their mirrors."""
    shape = np.array(images[0].shape)
    crop_dims = np.array(crop_dims)
    centre = shape[:2] / 2.0
    boxes = []
    for top in (0, shape[0] - crop_dims[0]):
        for left in (0, shape[1] - crop_dims[1]):
            boxes.append((top, left, top + crop_dims[0], left + crop_dims[1]))
    mid = np.concatenate([centre - crop_dims / 2.0, centre + crop_dims / 2.0])
    boxes.append(tuple(mid.astype(int)))
    crops = np.empty((10 * len(images), crop_dims[0], crop_dims[1], shape[-1]),
                     dtype=np.float32)
    ix = 0
    for im in images:
        for y0, x0, y1, x1 in boxes:
            crops[ix] = im[y0:y1, x0:x1, :]
            crops[ix + 5] = crops[ix, :, ::-1, :]
            ix += 1
        ix += 5
    return crops
