"""pycaffe's Classifier: a Net that classifies images, scaling them, then
taking the centre crop or averaging over ten crops (corners, centre, and
their mirrors)."""
import numpy as np

from . import io as _io
from . import Net, TEST  # deepspark imports this module once Net is defined


def input_transformer(net, mean, input_scale, raw_scale, channel_swap):
    """A Transformer for the net's first input: H x W x K images to
    K x H x W, with the settings that are not None (Classifier's and
    Detector's)."""
    in_ = net.inputs[0]
    transformer = _io.Transformer({in_: net.blobs[in_].data.shape})
    transformer.set_transpose(in_, (2, 0, 1))
    if mean is not None:
        transformer.set_mean(in_, mean)
    if input_scale is not None:
        transformer.set_input_scale(in_, input_scale)
    if raw_scale is not None:
        transformer.set_raw_scale(in_, raw_scale)
    if channel_swap is not None:
        transformer.set_channel_swap(in_, channel_swap)
    return transformer


class Classifier(Net):
    """Classifier(model_file, pretrained_file, image_dims=None, mean=None,
    input_scale=None, raw_scale=None, channel_swap=None), as pycaffe's.

    The net is built in the TEST phase with the weights loaded; its first
    input gets a Transformer (self.transformer) that takes H x W x K images
    to K x H x W, with the given mean, scales and channel order.
    image_dims: the (height, width) images are scaled to before cropping
    (default: the input's own, so the crop is the whole image).
    """

    def __init__(self, model_file, pretrained_file, image_dims=None, mean=None,
                 input_scale=None, raw_scale=None, channel_swap=None):
        super().__init__(model_file, pretrained_file, TEST)
        self.transformer = input_transformer(self, mean, input_scale, raw_scale, channel_swap)
        self.crop_dims = np.array(self.blobs[self.inputs[0]].data.shape[2:])
        if not image_dims:
            image_dims = self.crop_dims
        self.image_dims = image_dims

    def predict(self, inputs, oversample=True):
        """Class probabilities (the first output) of N images (H x W x K
        arrays, e.g. from io.load_image): an N x C array. With `oversample`
        (default) each row is the mean over the ten crops of the image scaled
        to image_dims; without, the centre crop's."""
        height, width = int(self.image_dims[0]), int(self.image_dims[1])
        scaled = np.zeros((len(inputs), height, width, inputs[0].shape[2]), dtype=np.float32)
        for ix, image in enumerate(inputs):
            scaled[ix] = _io.resize_image(image, (height, width))
        if oversample:
            crops = _io.oversample(scaled, self.crop_dims)
        else:
            centre = np.array([height, width]) / 2.0
            box = np.concatenate([centre - self.crop_dims / 2.0,
                                  centre + self.crop_dims / 2.0]).astype(int)
            crops = scaled[:, box[0]:box[2], box[1]:box[3], :]
        in_ = self.inputs[0]
        batch = np.zeros((crops.shape[0], crops.shape[3]) + crops.shape[1:3], dtype=np.float32)
        for ix, crop in enumerate(crops):
            batch[ix] = self.transformer.preprocess(in_, crop)
        predictions = self.forward_all(**{in_: batch})[self.outputs[0]]
        if oversample:
            predictions = predictions.reshape((len(predictions) // 10, 10, -1)).mean(1)
        return predictions
