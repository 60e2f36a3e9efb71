"""Conversions between numpy and Caffe's Datum / BlobProto, and LMDB access.

Messages are passed as serialized bytes (no Python protobuf module needed):
array_to_datum returns the bytes of a Datum, datum_to_array takes them.
"""
import numpy as np

from . import _deepspark


def array_to_datum(arr, label=0):
    """(C,H,W) or (H,W) array -> serialized Datum bytes (uint8 arrays go to
    `data`, others to `float_data`)."""
    return _deepspark.array_to_datum(np.asarray(arr), int(label))


def datum_to_array(datum):
    """Serialized Datum bytes -> (array (C,H,W), label)."""
    return _deepspark.datum_to_array(bytes(datum))


def array_to_blobproto(arr, diff=None):
    """numpy array -> serialized BlobProto bytes (with `shape`)."""
    return _deepspark.array_to_blobproto(np.asarray(arr), None if diff is None else np.asarray(diff))


def blobproto_to_array(blob, return_diff=False):
    """Serialized BlobProto bytes (e.g. a mean file's contents) -> array."""
    return _deepspark.blobproto_to_array(bytes(blob), bool(return_diff))


def load_blobproto(path):
    with open(path, "rb") as f:
        return blobproto_to_array(f.read())


class Encoded(bytes):
    """The bytes of an encoded image (JPEG, PNG or BMP), for write_lmdb to
    store as Caffe's encoded Datum (decoded by the Data layer)."""


def write_lmdb(path, items, backend="lmdb", batch=1000):
    """Writes (array or Encoded, label) pairs as Datums with keys 00000000,
    00000001, ... to a new database; returns the number written."""
    writer = _deepspark.DBWriter(str(path), backend, batch)
    n = 0
    try:
        for arr, label in items:
            if isinstance(arr, Encoded):
                writer.put("%08d" % n, _deepspark.encoded_datum(bytes(arr), int(label)))
            else:
                writer.put("%08d" % n, array_to_datum(arr, label))
            n += 1
    finally:
        writer.close()
    return n


def read_lmdb(path, backend="lmdb", limit=-1):
    """[(array, label)] of the Datums in a database, in key order."""
    return [datum_to_array(v) for _, v in _deepspark.read_db(str(path), backend, limit)]


DBWriter = _deepspark.DBWriter
