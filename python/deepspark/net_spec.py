"""pycaffe's net specification: nets written as Python calls.

    from deepspark import layers as L, params as P
    n = deepspark.NetSpec()
    n.data, n.label = L.Data(source="train_lmdb", backend=P.Data.LMDB, batch_size=64,
                             ntop=2, transform_param=dict(scale=1. / 255))
    n.conv1 = L.Convolution(n.data, kernel_size=5, num_output=20)
    n.relu1 = L.ReLU(n.conv1, in_place=True)
    print(n.to_proto())   # the NetParameter, printed as prototxt

L.<Type>(bottoms..., **fields) makes a layer of that type; keyword arguments
go to its <type>_param message (e.g. num_output -> convolution_param), or to
the LayerParameter itself (name ending in "param", or a field of it such as
loss_weight or include); a dict fills a message, a list a repeated field.
ntop=N gives N tops, in_place=True writes the top over the bottom. Tops named
by assignment to a NetSpec keep that name (and name their layer); others are
named by type and count ("Convolution1"). P.<Type>.<VALUE> is an enum value
of <Type>Parameter, e.g. P.Pooling.MAX. The output is pycaffe's, layer for
layer and name for name.

Needs the Python protobuf package (deepspark.proto.caffe_pb2).
"""
from collections import Counter, OrderedDict

__all__ = ["NetSpec", "Top", "Function", "layers", "params", "to_proto", "param_name_dict"]


def _pb2():
    from .proto import caffe_pb2
    return caffe_pb2


_PARAM_NAMES = None


def param_name_dict():
    """{layer type: the prefix of its parameter field}, read from
    LayerParameter: {"Convolution": "convolution", "InnerProduct":
    "inner_product", ...} (a field <prefix>_param of message <Type>Parameter)."""
    out = {}
    for field in _pb2().LayerParameter.DESCRIPTOR.fields:
        if field.name.endswith("_param") and field.message_type is not None:
            type_name = field.message_type.name
            if type_name.endswith("Parameter"):
                out[type_name[:-len("Parameter")]] = field.name[:-len("_param")]
    return out


def _param_names():
    global _PARAM_NAMES
    if _PARAM_NAMES is None:
        _PARAM_NAMES = param_name_dict()
    return _PARAM_NAMES


def to_proto(*tops):
    """The NetParameter of every layer needed to compute `tops`, with
    generated names for all blobs and layers."""
    layers = OrderedDict()
    autonames = Counter()
    for top in tops:
        top.fn._to_proto(layers, {}, autonames)
    net = _pb2().NetParameter()
    net.layer.extend(layers.values())
    return net


def assign_proto(proto, name, val):
    """Sets field `name` of message `proto` from a Python value: a dict fills
    a message, a list a repeated field (a list of dicts a repeated message),
    and a single value for a repeated field becomes a list of one."""
    field = getattr(proto, name)
    repeated = hasattr(field, "extend")
    if repeated and not isinstance(val, list):
        val = [val]
    if isinstance(val, list):
        if val and isinstance(val[0], dict):
            for item in val:
                message = field.add()
                for key, value in item.items():
                    assign_proto(message, key, value)
        else:
            field.extend(val)
    elif isinstance(val, dict):
        for key, value in val.items():
            assign_proto(field, key, value)
    else:
        setattr(proto, name, val)


class Top:
    """One output blob of a layer (output n of Function fn)."""

    def __init__(self, fn, n):
        self.fn = fn
        self.n = n

    def to_proto(self):
        """The NetParameter of every layer needed to compute this top."""
        return to_proto(self)

    def _update(self, params):
        self.fn._update(params)

    def _to_proto(self, layers, names, autonames):
        return self.fn._to_proto(layers, names, autonames)


class Function:
    """A layer: its type, its bottoms (Tops) and its parameters."""

    def __init__(self, type_name, inputs, params):
        self.type_name = type_name
        for index, bottom in enumerate(inputs):
            if not isinstance(bottom, Top):
                raise TypeError("%s input %d is not a Top (type is %s)"
                                % (type_name, index, type(bottom)))
        self.inputs = inputs
        self.params = dict(params)
        self.ntop = self.params.pop("ntop", 1)
        self.in_place = self.params.pop("in_place", False)
        self.tops = tuple(Top(self, n) for n in range(self.ntop))

    def _get_name(self, names, autonames):
        # A layer is named as its first top; one without tops by its type.
        if self not in names:
            if self.ntop > 0:
                names[self] = self._get_top_name(self.tops[0], names, autonames)
            else:
                autonames[self.type_name] += 1
                names[self] = self.type_name + str(autonames[self.type_name])
        return names[self]

    def _get_top_name(self, top, names, autonames):
        if top not in names:
            autonames[top.fn.type_name] += 1
            names[top] = top.fn.type_name + str(autonames[top.fn.type_name])
        return names[top]

    def _update(self, params):
        self.params.update(params)

    def _to_proto(self, layers, names, autonames):
        if self in layers:
            return
        bottoms = []
        for bottom in self.inputs:
            bottom._to_proto(layers, names, autonames)
            bottoms.append(layers[bottom.fn].top[bottom.n])
        layer = _pb2().LayerParameter()
        layer.type = self.type_name
        layer.bottom.extend(bottoms)
        if self.in_place:
            layer.top.extend(layer.bottom)
        else:
            for top in self.tops:
                layer.top.append(self._get_top_name(top, names, autonames))
        layer.name = self._get_name(names, autonames)
        for key, value in self.params.items():
            if key.endswith("param"):  # transform_param, param, ...: the layer's own
                assign_proto(layer, key, value)
                continue
            try:
                target = getattr(layer, _param_names()[self.type_name] + "_param")
                assign_proto(target, key, value)
            except (AttributeError, KeyError):
                assign_proto(layer, key, value)  # loss_weight, include, ...
        layers[self] = layer


class NetSpec:
    """Named tops: assign n.<name> = L.<Type>(...) (or n["name"] = ...);
    to_proto() gives the NetParameter of every layer needed for them, the
    assigned names used for their tops and layers."""

    def __init__(self):
        super().__setattr__("tops", OrderedDict())

    def __setattr__(self, name, value):
        self.tops[name] = value

    def __getattr__(self, name):
        if name.startswith("__"):  # copy, pickle and friends probe for these
            raise AttributeError(name)
        return self.tops[name]

    def __setitem__(self, key, value):
        self.__setattr__(key, value)

    def __getitem__(self, item):
        return self.__getattr__(item)

    def __delitem__(self, name):
        del self.tops[name]

    def keys(self):
        return list(self.tops.keys())

    def vals(self):
        return list(self.tops.values())

    def update(self, name, params):
        """Adds or changes parameters of the layer of top `name`."""
        self.tops[name]._update(params)

    def to_proto(self):
        names = {top: name for name, top in self.tops.items()}
        autonames = Counter()
        layers = OrderedDict()
        for top in self.tops.values():
            top._to_proto(layers, names, autonames)
        net = _pb2().NetParameter()
        net.layer.extend(layers.values())
        return net


class Layers:
    """L.<Type>(*bottoms, **params): a layer of that type. Returns its Top
    (one top), a tuple of Tops (ntop > 1), or the Function (ntop=0)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def layer_fn(*args, **kwargs):
            fn = Function(name, args, kwargs)
            if fn.ntop == 0:
                return fn
            if fn.ntop == 1:
                return fn.tops[0]
            return fn.tops
        return layer_fn


class Parameters:
    """P.<Type>.<NAME>: the value of enum NAME of <Type>Parameter, e.g.
    P.Pooling.MAX."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        class Param:
            def __getattr__(self, param_name):
                return getattr(getattr(_pb2(), name + "Parameter"), param_name)
        return Param()


layers = Layers()
params = Parameters()
