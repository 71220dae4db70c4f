"""Loaders for every benchmark, into the shared types of :mod:`hybridlib.data.types`.

The data live in ``HYBRIDLIB_DATA_DIR`` (see :mod:`hybridlib.data.sources`); bad input raises
:class:`DataError`, whose message names the file, the field and the value.
"""

from hybridlib.data.beir import load_beir
from hybridlib.data.errors import DataError
from hybridlib.data.lareqa import (
    article_folds,
    lareqa_training_pairs,
    load_lareqa,
    normalise_title,
)
from hybridlib.data.miracl import load_miracl, load_miracl_languages, miracl_languages
from hybridlib.data.multi30k import load_multi30k
from hybridlib.data.pairs import pairs_sha256, read_pairs_file
from hybridlib.data.scifact_mt import load_scifact_mt, load_scifact_mt_pool
from hybridlib.data.sources import data_dir
from hybridlib.data.statistics import dataset_statistics
from hybridlib.data.tatoeba import load_tatoeba, tatoeba_languages
from hybridlib.data.tico19 import load_tico19, tico19_languages
from hybridlib.data.tydiqa import load_tydiqa
from hybridlib.data.xm3600 import (
    load_xm3600,
    split_images,
    xm3600_split,
    xm3600_training_pairs,
)

__all__ = [
    "data_dir",
    "load_lareqa",
    "lareqa_training_pairs",
    "article_folds",
    "normalise_title",
    "load_tatoeba",
    "tatoeba_languages",
    "load_multi30k",
    "load_beir",
    "load_tydiqa",
    "load_xm3600",
    "split_images",
    "xm3600_split",
    "xm3600_training_pairs",
    "load_tico19",
    "tico19_languages",
    "load_scifact_mt",
    "load_scifact_mt_pool",
    "load_miracl",
    "load_miracl_languages",
    "miracl_languages",
    "dataset_statistics",
    "read_pairs_file",
    "pairs_sha256",
    "DataError",
]
