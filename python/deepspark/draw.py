"""Drawing a net, as pycaffe's caffe.draw: a NetParameter (caffe_pb2) as a
graphviz graph of layers (boxes) and blobs (octagons), through pydot.

    from deepspark import draw
    from deepspark.proto import caffe_pb2
    net = text_format.Merge(open("lenet.prototxt").read(), caffe_pb2.NetParameter())
    draw.draw_net_to_file(net, "lenet.png", rankdir="LR", phase=caffe_pb2.TEST)

Needs pydot and graphviz's `dot` (scripts/install-deps.sh installs both).
Layer boxes carry the name, the type and, for convolutions and pooling, the
kernel, stride and padding; colours by type as pycaffe's (convolution red,
pooling orange, inner product violet, in-place layers green, others blue);
with label_edges an edge from a layer to its top says the layer's outputs.
"""
import pydot

from .proto import caffe_pb2

__all__ = ["get_pydot_graph", "draw_net", "draw_net_to_file", "get_layer_label",
           "choose_color_by_layertype"]

LAYER_STYLE_DEFAULT = {"shape": "record", "fillcolor": "#6495ED", "style": "filled"}
NEURON_LAYER_STYLE = {"shape": "record", "fillcolor": "#90EE90", "style": "filled"}
BLOB_STYLE = {"shape": "octagon", "fillcolor": "#E0E0E0", "style": "filled"}

_COLORS = {"Convolution": "#FF5050", "Deconvolution": "#FF5050", "Pooling": "#FF9900",
           "InnerProduct": "#CC33FF"}


def choose_color_by_layertype(layertype):
    return _COLORS.get(layertype, "#6495ED")


def _first(values, default):
    values = list(values)
    return values[0] if values else default


def get_layer_label(layer, rankdir, display_lrm=False):
    """The text of a layer's box: name, type, and the geometry of a
    convolution or pooling; one line per item when the graph runs left to
    right, else separated by spaces. display_lrm adds each param's
    learning-rate multiplier."""
    separator = " " if rankdir in ("TB", "BT") else "\\n"
    parts = [layer.name, "(%s)" % layer.type]
    if layer.type in ("Convolution", "Deconvolution"):
        p = layer.convolution_param
        parts += ["kernel size: %d" % _first(p.kernel_size, p.kernel_h or 1),
                  "stride: %d" % _first(p.stride, p.stride_h or 1),
                  "pad: %d" % _first(p.pad, p.pad_h)]
    elif layer.type == "Pooling":
        p = layer.pooling_param
        parts += ["pool: %s" % caffe_pb2.PoolingParameter.PoolMethod.Name(p.pool),
                  "kernel size: %d" % (p.kernel_size or p.kernel_h),
                  "stride: %d" % (p.stride or p.stride_h),
                  "pad: %d" % (p.pad or p.pad_h)]
    if display_lrm and layer.param:
        parts.append("lr mult: %s" % ", ".join("%g" % p.lr_mult for p in layer.param))
    return separator.join(parts)


def _in_phase(layer, phase):
    """Caffe's include/exclude rules for the phase alone (None: every layer)."""
    if phase is None:
        return True
    if layer.include:
        return any(not rule.HasField("phase") or rule.phase == phase for rule in layer.include)
    return not any(rule.HasField("phase") and rule.phase == phase for rule in layer.exclude)


def _outputs(layer):
    if layer.type in ("Convolution", "Deconvolution"):
        return layer.convolution_param.num_output
    if layer.type == "InnerProduct":
        return layer.inner_product_param.num_output
    return None


def get_pydot_graph(caffe_net, rankdir, label_edges=True, phase=None, display_lrm=False):
    """The pydot.Dot graph of a NetParameter (only its layers in `phase`,
    caffe_pb2.TRAIN or TEST, when given)."""
    graph = pydot.Dot(caffe_net.name if caffe_net.name else "Net", graph_type="digraph",
                      rankdir=rankdir)
    nodes, edges = {}, []
    for layer in caffe_net.layer:
        if not _in_phase(layer, phase):
            continue
        key = layer.name + "_" + layer.type
        in_place = len(layer.bottom) == 1 and list(layer.bottom) == list(layer.top)
        style = dict(NEURON_LAYER_STYLE if in_place else LAYER_STYLE_DEFAULT)
        if not in_place:
            style["fillcolor"] = choose_color_by_layertype(layer.type)
        nodes[key] = pydot.Node(key, label='"%s"' % get_layer_label(layer, rankdir, display_lrm),
                                **style)
        for bottom in layer.bottom:
            nodes.setdefault(bottom + "_blob", pydot.Node(bottom + "_blob",
                                                          label='"%s"' % bottom, **BLOB_STYLE))
            edges.append((bottom + "_blob", key, None))
        for top in layer.top:
            nodes.setdefault(top + "_blob", pydot.Node(top + "_blob", label='"%s"' % top,
                                                       **BLOB_STYLE))
            outputs = _outputs(layer) if label_edges else None
            edges.append((key, top + "_blob", outputs))
    for node in nodes.values():
        graph.add_node(node)
    for source, target, outputs in edges:
        if outputs is None:
            graph.add_edge(pydot.Edge(nodes[source], nodes[target]))
        else:
            graph.add_edge(pydot.Edge(nodes[source], nodes[target], label=str(outputs)))
    return graph


def draw_net(caffe_net, rankdir, ext="png", phase=None, display_lrm=False):
    """The drawing as bytes in format `ext` (png, pdf, svg, ...; raw: the
    graphviz text)."""
    graph = get_pydot_graph(caffe_net, rankdir, phase=phase, display_lrm=display_lrm)
    if ext == "raw":
        return graph.to_string().encode()
    return graph.create(format=ext)


def draw_net_to_file(caffe_net, filename, rankdir="LR", phase=None, display_lrm=False):
    """Writes the drawing in the format of the file's extension ('.raw' for
    graphviz's text)."""
    ext = filename[filename.rfind(".") + 1:]
    data = draw_net(caffe_net, rankdir, ext, phase, display_lrm)
    with open(filename, "wb") as f:
        f.write(data)
