"""HDF5 edge cases for GraphJIT's Keras-file reader, made with h5py from files Keras saved.

Writes into Tests/GraphJITTests/Fixtures/KerasFiles/Hostile/ (run from the package root, with the
pinned h5py in requirements.txt; no TensorFlow needed):

- legacy_fixed_strings.h5: lstm_legacy_keras2.h5 with every string attribute rewritten as
  fixed-length, null-padded bytes (as h5py stores Python `bytes`, and as older Keras 2 wrote
  `model_config`, `layer_names` and `weight_names`). It must load and predict exactly as the original.
- soft_link.keras, external_link.keras, external_storage.keras: attention_sequential.keras whose
  first Dense kernel (`layers/dense/vars/0`) is replaced by a soft link, by an external link to
  another file, or by a dataset whose raw data is stored in an external file. GraphJIT must refuse
  each, naming the dataset, and never open the other file.

Output is deterministic (h5py's default file format, no timestamps in the zip: 1980-01-01).
"""
import io
import shutil
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests/GraphJITTests/Fixtures/KerasFiles"
OUT = FIXTURES / "Hostile"


def fixed(value) -> np.ndarray | np.bytes_:
    """A str, bytes or array of them as fixed-length null-padded bytes."""
    if isinstance(value, (str, bytes, np.bytes_)):
        text = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return np.bytes_(text)
    return np.array([v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in value], dtype="S")


def legacy_fixed_strings() -> None:
    target = OUT / "legacy_fixed_strings.h5"
    shutil.copyfile(FIXTURES / "lstm_legacy_keras2.h5", target)
    with h5py.File(target, "r+") as f:
        objects = [f] + [f[name] for name in _all_objects(f)]
        for obj in objects:
            for key in list(obj.attrs.keys()):
                value = obj.attrs[key]
                if isinstance(value, (str, bytes)) or (isinstance(value, np.ndarray) and value.dtype.kind in "OSU"
                                                        and value.size > 0):
                    del obj.attrs[key]
                    obj.attrs[key] = fixed(value if not isinstance(value, np.ndarray) else list(value))
        # Check: every string attribute is now fixed-length.
        for obj in objects:
            for key in obj.attrs:
                tid = obj.attrs.get_id(key).get_type()
                if isinstance(tid, h5py.h5t.TypeStringID):
                    assert not tid.is_variable_str(), (obj.name, key)


def _all_objects(f) -> list[str]:
    names = []
    f.visit(names.append)
    return names


def keras_with_weights(name: str, edit) -> None:
    """attention_sequential.keras with its model.weights.h5 changed by `edit(h5file)`."""
    source = FIXTURES / "attention_sequential.keras"
    with zipfile.ZipFile(source) as z:
        members = {info.filename: z.read(info) for info in z.infolist()}
    image = io.BytesIO(members["model.weights.h5"])
    with h5py.File(image, "r+") as f:
        edit(f)
    members["model.weights.h5"] = image.getvalue()
    with zipfile.ZipFile(OUT / name, "w", compression=zipfile.ZIP_STORED) as z:
        for member in ["metadata.json", "config.json", "model.weights.h5"]:
            info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, members[member])


def soft_link(f) -> None:
    del f["layers/dense/vars/0"]
    f["layers/dense/vars/0"] = h5py.SoftLink("/layers/dense/vars/1")


def external_link(f) -> None:
    del f["layers/dense/vars/0"]
    f["layers/dense/vars/0"] = h5py.ExternalLink("/etc/graphjit-never-opened.h5", "/data")


def external_storage(f) -> None:
    shape = f["layers/dense/vars/0"].shape
    del f["layers/dense/vars/0"]
    f.create_dataset("layers/dense/vars/0", shape=shape, dtype="float32",
                     external=[("/etc/hostname", 0, h5py.h5f.UNLIMITED)])


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    legacy_fixed_strings()
    keras_with_weights("soft_link.keras", soft_link)
    keras_with_weights("external_link.keras", external_link)
    keras_with_weights("external_storage.keras", external_storage)
    for path in sorted(OUT.iterdir()):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
