// Eltwise's GPU path: the CPU path's steps, one element per thread, in the
// same order (SUM: zero, then axpy per bottom through cuBLAS; PROD: a running
// product; MAX: a running maximum, strictly greater taking over, so ties stay
// with the earlier bottom, and the winner's index kept on the device).
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/gpu_math.hpp"
#include "deepspark/layers/eltwise_layer.hpp"

namespace deepspark {
namespace {

// y = a * b (y may be a or b).
template <typename Dtype>
__global__ void MulKernel(int n, const Dtype* a, const Dtype* b, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = a[i] * b[i];
  }
}

// y = a / b.
template <typename Dtype>
__global__ void DivKernel(int n, const Dtype* a, const Dtype* b, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = a[i] / b[i];
  }
}

// y = alpha * x.
template <typename Dtype>
__global__ void ScaleKernel(int n, Dtype alpha, const Dtype* x, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = alpha * x[i];
  }
}

// MAX, bottom 0: top = b0, winner 0.
template <typename Dtype>
__global__ void MaxFirstKernel(int n, const Dtype* b0, Dtype* top, int* max_idx) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    top[i] = b0[i];
    max_idx[i] = 0;
  }
}

// MAX, bottom k >= 1: takes over where strictly greater.
template <typename Dtype>
__global__ void MaxNextKernel(int n, const Dtype* b, int k, Dtype* top, int* max_idx) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    if (b[i] > top[i]) {
      top[i] = b[i];
      max_idx[i] = k;
    }
  }
}

// MAX backward for bottom k: the top's diff where k won, else 0.
template <typename Dtype>
__global__ void MaxBackwardKernel(int n, const Dtype* top_diff, const int* max_idx, int k,
                                  Dtype* bottom_diff) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    bottom_diff[i] = max_idx[i] == k ? top_diff[i] : Dtype(0);
  }
}

}  // namespace

template <typename Dtype>
void EltwiseLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                      const std::vector<Blob<Dtype>*>& top) {
  const int count = top[0]->count();
  if (count == 0) return;
  Dtype* top_data = top[0]->mutable_gpu_data();
  const int blocks = CudaBlocks(count);
  switch (op_) {
    case caffe::EltwiseParameter::PROD:
      MulKernel<Dtype>
          <<<blocks, kCudaThreads>>>(count, bottom[0]->gpu_data(), bottom[1]->gpu_data(), top_data);
      RequireKernelLaunched("Eltwise PROD forward kernel");
      for (size_t i = 2; i < bottom.size(); ++i) {
        MulKernel<Dtype>
            <<<blocks, kCudaThreads>>>(count, top_data, bottom[i]->gpu_data(), top_data);
        RequireKernelLaunched("Eltwise PROD forward kernel");
      }
      break;
    case caffe::EltwiseParameter::SUM:
      caffe_gpu_set(count, Dtype(0), top_data);
      for (size_t i = 0; i < bottom.size(); ++i) {
        caffe_gpu_axpy(count, coeffs_[i], bottom[i]->gpu_data(), top_data);
      }
      break;
    case caffe::EltwiseParameter::MAX: {
      int* max_idx = static_cast<int*>(max_idx_->mutable_gpu_data());
      MaxFirstKernel<Dtype>
          <<<blocks, kCudaThreads>>>(count, bottom[0]->gpu_data(), top_data, max_idx);
      RequireKernelLaunched("Eltwise MAX forward kernel");
      for (size_t i = 1; i < bottom.size(); ++i) {
        MaxNextKernel<Dtype><<<blocks, kCudaThreads>>>(count, bottom[i]->gpu_data(),
                                                       static_cast<int>(i), top_data, max_idx);
        RequireKernelLaunched("Eltwise MAX forward kernel");
      }
      break;
    }
    default:
      THROW_ERROR() << "Eltwise: unknown operation " << static_cast<int>(op_);
  }
}

template <typename Dtype>
void EltwiseLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                       const std::vector<bool>& propagate_down,
                                       const std::vector<Blob<Dtype>*>& bottom) {
  const int count = top[0]->count();
  if (count == 0) return;
  const int blocks = CudaBlocks(count);
  const Dtype* top_diff = top[0]->gpu_diff();
  for (size_t i = 0; i < bottom.size(); ++i) {
    if (!propagate_down[i]) continue;
    Dtype* bottom_diff = bottom[i]->mutable_gpu_diff();
    switch (op_) {
      case caffe::EltwiseParameter::PROD:
        if (stable_prod_grad_) {
          // The product of the other bottoms, multiplied in the CPU's order.
          bool initialized = false;
          for (size_t j = 0; j < bottom.size(); ++j) {
            if (j == i) continue;
            if (!initialized) {
              caffe_gpu_copy(count, bottom[j]->gpu_data(), bottom_diff);
              initialized = true;
            } else {
              MulKernel<Dtype><<<blocks, kCudaThreads>>>(count, bottom[j]->gpu_data(), bottom_diff,
                                                         bottom_diff);
              RequireKernelLaunched("Eltwise PROD backward kernel");
            }
          }
        } else {
          DivKernel<Dtype><<<blocks, kCudaThreads>>>(count, top[0]->gpu_data(),
                                                     bottom[i]->gpu_data(), bottom_diff);
          RequireKernelLaunched("Eltwise PROD backward kernel");
        }
        MulKernel<Dtype><<<blocks, kCudaThreads>>>(count, bottom_diff, top_diff, bottom_diff);
        RequireKernelLaunched("Eltwise PROD backward kernel");
        break;
      case caffe::EltwiseParameter::SUM:
        ScaleKernel<Dtype><<<blocks, kCudaThreads>>>(count, coeffs_[i], top_diff, bottom_diff);
        RequireKernelLaunched("Eltwise SUM backward kernel");
        break;
      case caffe::EltwiseParameter::MAX:
        MaxBackwardKernel<Dtype><<<blocks, kCudaThreads>>>(
            count, top_diff, static_cast<const int*>(max_idx_->gpu_data()), static_cast<int>(i),
            bottom_diff);
        RequireKernelLaunched("Eltwise MAX backward kernel");
        break;
      default:
        THROW_ERROR() << "Eltwise: unknown operation " << static_cast<int>(op_);
    }
  }
}

DS_INSTANTIATE_GPU_PATHS(EltwiseLayer);

}  // namespace deepspark
