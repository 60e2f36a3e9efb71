// The "Python" layer's bindings (python_layer.cc): registers the layer type
// with the engine when the extension loads.
#pragma once

#include <pybind11/pybind11.h>

#include "deepspark/layer.hpp"

namespace deepspark {
namespace python {

// Registers "Python" in the float layer registry and binds the layer's
// parameter-blob list. Call once, from the module's init.
void BindPythonLayer(pybind11::module_& m);

// The Python object behind a Python layer, or None for any other layer.
pybind11::object PythonLayerObject(Layer<float>* layer);

}  // namespace python
}  // namespace deepspark
