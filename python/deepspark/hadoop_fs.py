"""Files on the cluster's filesystem (any Hadoop path: hdfs://, s3a://,
file://, ...) through the driver JVM's Hadoop FileSystem, so nothing but
Spark itself is needed to reach it. Called on the driver only; py4j lets
any driver thread call.

Whole files only, and never half written: put_file and write_bytes write
to a hidden temporary name beside the target and rename it into place.
"""
import os

__all__ = ["put_file", "get_file", "write_bytes", "read_bytes", "exists", "join"]


def join(base, name):
    return base.rstrip("/") + "/" + name


def _fs(sc, path):
    p = sc._jvm.org.apache.hadoop.fs.Path(path)
    return p.getFileSystem(sc._jsc.hadoopConfiguration()), p


def _temp_beside(sc, path):
    parent, name = path.rstrip("/").rsplit("/", 1)
    return _fs(sc, join(parent, "._" + name + ".tmp"))[1]


def _replace(sc, fs, tmp, target):
    """Renames tmp to target, over an existing target (Hadoop's rename does
    not replace files on every filesystem)."""
    if fs.exists(target):
        fs.delete(target, False)
    if not fs.rename(tmp, target):
        fs.delete(tmp, False)
        raise IOError("cannot rename %s to %s" % (tmp.toString(), target.toString()))


def write_bytes(sc, path, data):
    fs, target = _fs(sc, path)
    tmp = _temp_beside(sc, path)
    out = fs.create(tmp, True)
    try:
        out.write(bytearray(data))
    finally:
        out.close()
    _replace(sc, fs, tmp, target)


def read_bytes(sc, path):
    """The file's bytes, or None when there is no file at path."""
    fs, p = _fs(sc, path)
    if not fs.exists(p):
        return None
    stream = fs.open(p)
    try:
        return bytes(sc._jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
    finally:
        stream.close()


def put_file(sc, local_path, path):
    """Copies a local file to path (streamed by the JVM, not through Python)."""
    fs, target = _fs(sc, path)
    tmp = _temp_beside(sc, path)
    fs.copyFromLocalFile(False, True, sc._jvm.org.apache.hadoop.fs.Path(
        "file://" + os.path.abspath(local_path)), tmp)
    _replace(sc, fs, tmp, target)


def get_file(sc, path, local_path):
    """Copies the file at path to a local file; IOError when it is missing."""
    fs, p = _fs(sc, path)
    if not fs.exists(p):
        raise IOError("%s does not exist" % path)
    tmp = local_path + ".partial"
    fs.copyToLocalFile(False, p, sc._jvm.org.apache.hadoop.fs.Path(
        "file://" + os.path.abspath(tmp)), True)
    os.replace(tmp, local_path)


def exists(sc, path):
    fs, p = _fs(sc, path)
    return bool(fs.exists(p))
