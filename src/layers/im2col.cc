#include "deepspark/layers/im2col.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace deepspark {

namespace {

// Smallest o >= 0 with o * stride >= x (x may be negative).
inline int CeilDivNonNeg(int x, int stride) { return x <= 0 ? 0 : (x + stride - 1) / stride; }

// For one kernel offset along an axis, the output positions [lo, hi) whose
// input coordinate -pad + offset + o*stride lies inside [0, size). Computing
// this range once per row keeps the bounds tests out of the inner loops.
inline void ValidRange(int size, int pad, int offset, int stride, int out, int* lo, int* hi) {
  *lo = std::min(CeilDivNonNeg(pad - offset, stride), out);
  *hi = std::min(CeilDivNonNeg(size + pad - offset, stride), out);
  if (*hi < *lo) *hi = *lo;
}

}  // namespace

template <typename Dtype>
void im2col_cpu(const Dtype* data_im, int channels, int height, int width, int kernel_h,
                int kernel_w, int pad_h, int pad_w, int stride_h, int stride_w, int dilation_h,
                int dilation_w, Dtype* data_col) {
  const int out_h = (height + 2 * pad_h - (dilation_h * (kernel_h - 1) + 1)) / stride_h + 1;
  const int out_w = (width + 2 * pad_w - (dilation_w * (kernel_w - 1) + 1)) / stride_w + 1;
  const int channel_size = height * width;
  for (int c = 0; c < channels; ++c, data_im += channel_size) {
    for (int kh = 0; kh < kernel_h; ++kh) {
      int oh_lo, oh_hi;
      ValidRange(height, pad_h, kh * dilation_h, stride_h, out_h, &oh_lo, &oh_hi);
      for (int kw = 0; kw < kernel_w; ++kw) {
        int ow_lo, ow_hi;
        ValidRange(width, pad_w, kw * dilation_w, stride_w, out_w, &ow_lo, &ow_hi);
        // Rows above/below the image are all padding.
        std::fill(data_col, data_col + oh_lo * out_w, Dtype(0));
        data_col += oh_lo * out_w;
        int ih = -pad_h + kh * dilation_h + oh_lo * stride_h;
        for (int oh = oh_lo; oh < oh_hi; ++oh, ih += stride_h) {
          const Dtype* row = data_im + ih * width;
          for (int ow = 0; ow < ow_lo; ++ow) *data_col++ = Dtype(0);
          const int iw0 = -pad_w + kw * dilation_w + ow_lo * stride_w;
          const int n = ow_hi - ow_lo;
          if (stride_w == 1) {
            // Short rows (LeNet's 8 values) copy faster inline than through
            // a memcpy call.
            if (n < 16) {
              for (int i = 0; i < n; ++i) data_col[i] = row[iw0 + i];
            } else {
              std::memcpy(data_col, row + iw0, sizeof(Dtype) * n);
            }
            data_col += n;
          } else {
            const Dtype* src = row + iw0;
            for (int i = 0; i < n; ++i) *data_col++ = src[i * stride_w];
          }
          for (int ow = ow_hi; ow < out_w; ++ow) *data_col++ = Dtype(0);
        }
        std::fill(data_col, data_col + (out_h - oh_hi) * out_w, Dtype(0));
        data_col += (out_h - oh_hi) * out_w;
      }
    }
  }
}

template <typename Dtype>
void col2im_cpu(const Dtype* data_col, int channels, int height, int width, int kernel_h,
                int kernel_w, int pad_h, int pad_w, int stride_h, int stride_w, int dilation_h,
                int dilation_w, Dtype* data_im) {
  std::fill(data_im, data_im + static_cast<size_t>(channels) * height * width, Dtype(0));
  const int out_h = (height + 2 * pad_h - (dilation_h * (kernel_h - 1) + 1)) / stride_h + 1;
  const int out_w = (width + 2 * pad_w - (dilation_w * (kernel_w - 1) + 1)) / stride_w + 1;
  const int channel_size = height * width;
  for (int c = 0; c < channels; ++c, data_im += channel_size) {
    for (int kh = 0; kh < kernel_h; ++kh) {
      int oh_lo, oh_hi;
      ValidRange(height, pad_h, kh * dilation_h, stride_h, out_h, &oh_lo, &oh_hi);
      for (int kw = 0; kw < kernel_w; ++kw) {
        int ow_lo, ow_hi;
        ValidRange(width, pad_w, kw * dilation_w, stride_w, out_w, &ow_lo, &ow_hi);
        const int n = ow_hi - ow_lo;
        const int iw0 = -pad_w + kw * dilation_w + ow_lo * stride_w;
        int ih = -pad_h + kh * dilation_h + oh_lo * stride_h;
        const Dtype* col = data_col + oh_lo * out_w + ow_lo;
        for (int oh = oh_lo; oh < oh_hi; ++oh, ih += stride_h, col += out_w) {
          Dtype* dst = data_im + ih * width + iw0;
          if (stride_w == 1) {
            for (int i = 0; i < n; ++i) dst[i] += col[i];
          } else {
            for (int i = 0; i < n; ++i) dst[i * stride_w] += col[i];
          }
        }
        data_col += out_h * out_w;
      }
    }
  }
}

namespace {

// Walks every (column row, output position) pair of an N-d im2col and calls
// op(col_index, im_index) for in-image cells and pad(col_index) for padding.
// Shared by im2col and col2im so the two stay exact adjoints.
template <typename InOp, typename PadOp>
void ForEachNd(int num_axes, const int* im_shape, const int* col_shape, const int* kernel_shape,
               const int* pad, const int* stride, const int* dilation, InOp in_op, PadOp pad_op) {
  int kernel_size = 1;
  int out_size = 1;
  for (int i = 0; i < num_axes; ++i) {
    kernel_size *= kernel_shape[i];
    out_size *= col_shape[i + 1];
  }
  const int channels_col = col_shape[0];
  std::vector<int> k_off(num_axes), out_pos(num_axes);
  for (int c_col = 0; c_col < channels_col; ++c_col) {
    // Decompose c_col into (c_im, kernel offsets), last axis fastest.
    int rem = c_col;
    for (int i = num_axes - 1; i >= 0; --i) {
      k_off[i] = rem % kernel_shape[i];
      rem /= kernel_shape[i];
    }
    const int c_im = rem;
    std::fill(out_pos.begin(), out_pos.end(), 0);
    const long long col_base = static_cast<long long>(c_col) * out_size;
    for (int o = 0; o < out_size; ++o) {
      long long im_index = c_im;
      bool inside = true;
      for (int i = 0; i < num_axes; ++i) {
        const int pos = out_pos[i] * stride[i] - pad[i] + k_off[i] * dilation[i];
        if (pos < 0 || pos >= im_shape[i + 1]) {
          inside = false;
          break;
        }
        im_index = im_index * im_shape[i + 1] + pos;
      }
      if (inside) {
        in_op(col_base + o, im_index);
      } else {
        pad_op(col_base + o);
      }
      // Advance the output position odometer, last axis fastest.
      for (int i = num_axes - 1; i >= 0; --i) {
        if (++out_pos[i] < col_shape[i + 1]) break;
        out_pos[i] = 0;
      }
    }
  }
}

}  // namespace

template <typename Dtype>
void im2col_nd_cpu(const Dtype* data_im, int num_spatial_axes, const int* im_shape,
                   const int* col_shape, const int* kernel_shape, const int* pad, const int* stride,
                   const int* dilation, Dtype* data_col) {
  ForEachNd(
      num_spatial_axes, im_shape, col_shape, kernel_shape, pad, stride, dilation,
      [&](long long col, long long im) { data_col[col] = data_im[im]; },
      [&](long long col) { data_col[col] = Dtype(0); });
}

template <typename Dtype>
void col2im_nd_cpu(const Dtype* data_col, int num_spatial_axes, const int* im_shape,
                   const int* col_shape, const int* kernel_shape, const int* pad, const int* stride,
                   const int* dilation, Dtype* data_im) {
  long long im_size = 1;
  for (int i = 0; i <= num_spatial_axes; ++i) im_size *= im_shape[i];
  std::fill(data_im, data_im + im_size, Dtype(0));
  ForEachNd(
      num_spatial_axes, im_shape, col_shape, kernel_shape, pad, stride, dilation,
      [&](long long col, long long im) { data_im[im] += data_col[col]; }, [](long long) {});
}

#define INSTANTIATE_IM2COL(Dtype)                                                                 \
  template void im2col_cpu<Dtype>(const Dtype*, int, int, int, int, int, int, int, int, int, int, \
                                  int, Dtype*);                                                   \
  template void col2im_cpu<Dtype>(const Dtype*, int, int, int, int, int, int, int, int, int, int, \
                                  int, Dtype*);                                                   \
  template void im2col_nd_cpu<Dtype>(const Dtype*, int, const int*, const int*, const int*,       \
                                     const int*, const int*, const int*, Dtype*);                 \
  template void col2im_nd_cpu<Dtype>(const Dtype*, int, const int*, const int*, const int*,       \
                                     const int*, const int*, const int*, Dtype*)
INSTANTIATE_IM2COL(float);
INSTANTIATE_IM2COL(double);

}  // namespace deepspark
