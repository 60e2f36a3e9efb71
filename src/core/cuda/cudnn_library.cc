#include "cudnn_library.hpp"

#include <cuda_runtime.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "deepspark/common.hpp"
#include "dynamic_library.hpp"

// The legacy convolution API is deprecated in cuDNN 9 (still provided):
// naming its functions' types warns.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace deepspark {
namespace {

CudnnLibrary Load() {
  void* handle = OpenCudaLibrary("cuDNN", "DEEPSPARK_CUDNN",
                                 "libcudnn.so." + std::to_string(CUDNN_MAJOR), "libcudnn.so");
  CudnnLibrary lib;
  auto find = [&](auto* slot, const char* symbol) {
    FindCudaSymbol(handle, "cuDNN", slot, symbol);
  };
  find(&lib.GetVersion, "cudnnGetVersion");
  find(&lib.GetErrorString, "cudnnGetErrorString");
  find(&lib.Create, "cudnnCreate");
  find(&lib.CreateTensorDescriptor, "cudnnCreateTensorDescriptor");
  find(&lib.SetTensor4dDescriptor, "cudnnSetTensor4dDescriptor");
  find(&lib.DestroyTensorDescriptor, "cudnnDestroyTensorDescriptor");
  find(&lib.CreateFilterDescriptor, "cudnnCreateFilterDescriptor");
  find(&lib.SetFilter4dDescriptor, "cudnnSetFilter4dDescriptor");
  find(&lib.DestroyFilterDescriptor, "cudnnDestroyFilterDescriptor");
  find(&lib.CreateConvolutionDescriptor, "cudnnCreateConvolutionDescriptor");
  find(&lib.SetConvolution2dDescriptor, "cudnnSetConvolution2dDescriptor");
  find(&lib.SetConvolutionGroupCount, "cudnnSetConvolutionGroupCount");
  find(&lib.SetConvolutionMathType, "cudnnSetConvolutionMathType");
  find(&lib.DestroyConvolutionDescriptor, "cudnnDestroyConvolutionDescriptor");
  find(&lib.FindConvolutionForwardAlgorithm, "cudnnFindConvolutionForwardAlgorithm");
  find(&lib.FindConvolutionBackwardFilterAlgorithm, "cudnnFindConvolutionBackwardFilterAlgorithm");
  find(&lib.FindConvolutionBackwardDataAlgorithm, "cudnnFindConvolutionBackwardDataAlgorithm");
  find(&lib.ConvolutionForward, "cudnnConvolutionForward");
  find(&lib.ConvolutionBackwardFilter, "cudnnConvolutionBackwardFilter");
  find(&lib.ConvolutionBackwardData, "cudnnConvolutionBackwardData");
  find(&lib.ConvolutionBackwardBias, "cudnnConvolutionBackwardBias");
  find(&lib.AddTensor, "cudnnAddTensor");
  // The sub-library with the convolutions is loaded lazily by libcudnn on
  // the first call; a version that is not the one built against would fail
  // there with a less clear message.
  const size_t version = lib.GetVersion();
  REQUIRE(version / 10000 == CUDNN_MAJOR)
      << "cuDNN " << version << " was loaded, but DeepSpark was built against cuDNN " << CUDNN_MAJOR
      << " (set DEEPSPARK_CUDNN to a libcudnn.so." << CUDNN_MAJOR << ")";
  return lib;
}

std::mutex& LoadMutex() {
  static std::mutex* mutex = new std::mutex;
  return *mutex;
}

CudnnLibrary* loaded = nullptr;

}  // namespace

const CudnnLibrary& Cudnn() {
  // Loaded once; a failure is thrown to every caller (and tried again).
  std::lock_guard<std::mutex> lock(LoadMutex());
  if (!loaded) loaded = new CudnnLibrary(Load());
  return *loaded;
}

bool CudnnAvailable(std::string* why) {
  try {
    Cudnn();
    return true;
  } catch (const Error& e) {
    if (why) *why = e.what();
    return false;
  }
}

void RequireCudnn(cudnnStatus_t status, const char* what) {
  REQUIRE(status == CUDNN_STATUS_SUCCESS)
      << what << ": " << Cudnn().GetErrorString(status) << " (cuDNN status " << status << ")";
}

cudnnHandle_t CudnnHandle() {
  // One per device per host thread: a handle is tied to the device current
  // when it was made. Never destroyed: threads that compute live as long as
  // the process (destroying at thread exit would race the driver's own
  // teardown at process exit).
  thread_local std::map<int, cudnnHandle_t> handles;
  int device = 0;
  const cudaError_t status = cudaGetDevice(&device);
  REQUIRE(status == cudaSuccess) << "cuDNN: no current device: " << cudaGetErrorString(status);
  auto it = handles.find(device);
  if (it != handles.end()) return it->second;
  cudnnHandle_t handle = nullptr;
  RequireCudnn(Cudnn().Create(&handle), "cudnnCreate");
  handles[device] = handle;
  return handle;
}

}  // namespace deepspark
