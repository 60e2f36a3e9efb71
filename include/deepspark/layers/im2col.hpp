// im2col / col2im: rearranges image patches into columns so convolution
// becomes one GEMM (Caffe's layout, so results match Caffe's numerics).
//
// Image layout: (channels, spatial...) row-major. Column layout:
// (channels * prod(kernel), prod(output spatial)) row-major, where the row
// index is (c, k_0, k_1, ...) and the column index the output position.
// Output size per axis: (in + 2*pad - (dilation*(k-1)+1)) / stride + 1.
// Padded cells read as 0; col2im accumulates into the image (it does NOT
// clear it first: callers that want a fresh image zero it, as the helpers
// below do).
//
// Thread safety: pure functions over caller-owned buffers.
#pragma once

namespace deepspark {

// 2-D im2col: data_im (channels, height, width) -> data_col.
template <typename Dtype>
void im2col_cpu(const Dtype* data_im, int channels, int height, int width, int kernel_h,
                int kernel_w, int pad_h, int pad_w, int stride_h, int stride_w, int dilation_h,
                int dilation_w, Dtype* data_col);

// 2-D col2im: sets data_im to the sum of every column entry that im2col
// would have read from each image cell (the adjoint of im2col).
template <typename Dtype>
void col2im_cpu(const Dtype* data_col, int channels, int height, int width, int kernel_h,
                int kernel_w, int pad_h, int pad_w, int stride_h, int stride_w, int dilation_h,
                int dilation_w, Dtype* data_im);

// N-d im2col. im_shape: (channels, spatial[num_spatial_axes]);
// col_shape: (channels * prod(kernel), out_spatial[num_spatial_axes]).
// kernel/pad/stride/dilation have num_spatial_axes entries.
template <typename Dtype>
void im2col_nd_cpu(const Dtype* data_im, int num_spatial_axes, const int* im_shape,
                   const int* col_shape, const int* kernel_shape, const int* pad, const int* stride,
                   const int* dilation, Dtype* data_col);

// N-d col2im (the adjoint of im2col_nd_cpu); overwrites data_im.
template <typename Dtype>
void col2im_nd_cpu(const Dtype* data_col, int num_spatial_axes, const int* im_shape,
                   const int* col_shape, const int* kernel_shape, const int* pad, const int* stride,
                   const int* dilation, Dtype* data_im);

}  // namespace deepspark
