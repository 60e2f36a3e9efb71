// What every oneDNN-engine layer can say about itself: whether its current
// shapes run a oneDNN primitive or Caffe's code (the fallback). Tests and
// `deepspark time` use it to show which path a layer took.
#pragma once

namespace deepspark {

class DnnlLayer {
 public:
  virtual ~DnnlLayer() = default;
  // True when the last Reshape chose a oneDNN primitive.
  virtual bool uses_dnnl() const = 0;
};

}  // namespace deepspark
