// cuDNN, loaded on first use (dlopen) rather than linked, for the reason
// cuBLAS is (cublas_library.hpp): libcudnn and the sub-libraries it loads
// are hundreds of MB that every process of the tool would map at start, GPU
// or not. Only the functions DeepSpark calls are looked up: the legacy
// convolution API, which cuDNN 9 marks deprecated in favour of its graph
// API but still provides (libcudnn_cnn).
//
// Where it is looked for: $DEEPSPARK_CUDNN, the soname of the version built
// against, the CUDA toolkit's library folder.
//
// Thread safety: Cudnn() and CudnnAvailable() may be called from any thread
// (loaded once).
#pragma once

#include <cudnn.h>

#include <string>

namespace deepspark {

struct CudnnLibrary {
  decltype(&cudnnGetVersion) GetVersion;
  decltype(&cudnnGetErrorString) GetErrorString;
  decltype(&cudnnCreate) Create;
  decltype(&cudnnCreateTensorDescriptor) CreateTensorDescriptor;
  decltype(&cudnnSetTensor4dDescriptor) SetTensor4dDescriptor;
  decltype(&cudnnDestroyTensorDescriptor) DestroyTensorDescriptor;
  decltype(&cudnnCreateFilterDescriptor) CreateFilterDescriptor;
  decltype(&cudnnSetFilter4dDescriptor) SetFilter4dDescriptor;
  decltype(&cudnnDestroyFilterDescriptor) DestroyFilterDescriptor;
  decltype(&cudnnCreateConvolutionDescriptor) CreateConvolutionDescriptor;
  decltype(&cudnnSetConvolution2dDescriptor) SetConvolution2dDescriptor;
  decltype(&cudnnSetConvolutionGroupCount) SetConvolutionGroupCount;
  decltype(&cudnnSetConvolutionMathType) SetConvolutionMathType;
  decltype(&cudnnDestroyConvolutionDescriptor) DestroyConvolutionDescriptor;
  decltype(&cudnnFindConvolutionForwardAlgorithm) FindConvolutionForwardAlgorithm;
  decltype(&cudnnFindConvolutionBackwardFilterAlgorithm) FindConvolutionBackwardFilterAlgorithm;
  decltype(&cudnnFindConvolutionBackwardDataAlgorithm) FindConvolutionBackwardDataAlgorithm;
  decltype(&cudnnConvolutionForward) ConvolutionForward;
  decltype(&cudnnConvolutionBackwardFilter) ConvolutionBackwardFilter;
  decltype(&cudnnConvolutionBackwardData) ConvolutionBackwardData;
  decltype(&cudnnConvolutionBackwardBias) ConvolutionBackwardBias;
  decltype(&cudnnAddTensor) AddTensor;
};

// The loaded library; throws deepspark::Error naming the files tried and
// dlopen's reason when cuDNN cannot be loaded or lacks a function.
const CudnnLibrary& Cudnn();
// Whether cuDNN loads; *why (if given) says why not. Never throws.
bool CudnnAvailable(std::string* why);

// Throws deepspark::Error with cuDNN's message when `status` is not
// success; `what` names the call.
void RequireCudnn(cudnnStatus_t status, const char* what);

// The calling thread's cuDNN handle on its current device (made on first
// use, kept for the thread's life).
cudnnHandle_t CudnnHandle();

}  // namespace deepspark
