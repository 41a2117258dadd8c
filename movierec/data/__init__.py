"""MovieLens data: the release catalog, finding and downloading, parsing, caching, demo data."""

from movierec.data.catalog import DEFAULT_DATASET, RELEASES, Release, get_release
from movierec.data.dataset import Dataset
from movierec.data.demo import generate_demo
from movierec.data.download import download, identify_zip, install_zip
from movierec.data.loader import dataset_status, load_dataset

__all__ = [
    "DEFAULT_DATASET", "RELEASES", "Release", "get_release", "Dataset", "generate_demo",
    "download", "identify_zip", "install_zip", "dataset_status", "load_dataset",
]
