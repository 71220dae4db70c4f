"""What a suite's results depend on, and whether finished results may be reused.

A suite's results are a function of the model's weights and embedding settings (its
fingerprint, with the weights' SHA-256), the evaluation options (languages, articles, batch
size, BM25 parameters), the candidate input, the encoder settings set for the comparison and
the post-processing. :func:`evaluation_identity` is that record, written into every
``provenance.json`` by :func:`~hybridlib.evaluation.suites.evaluate`; finished results are
reused only when the identity recorded with them equals the one asked for
(:func:`identity_differences` names what differs). A rerun with another temperature trains
other weights, and so never reports the old model's numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybridlib.suites import loader_code_sha256

if TYPE_CHECKING:
    from hybridlib.evaluation.debias import SuiteDebiasing
    from hybridlib.evaluation.retrievers import Retriever, RetrieverOptions


def evaluation_identity(
    retriever: Retriever,
    options: RetrieverOptions,
    *,
    candidate_input: str,
    evaluation_record: dict[str, Any],
    postprocess: SuiteDebiasing | None,
    fingerprint: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The provenance entries a suite's results depend on, as JSON would read them back:
    ``model_fingerprint`` (``fingerprint``, or the retriever's, hashed now), the options'
    record (:meth:`Retriever.options_record`), ``candidate_input``, ``evaluation_settings``
    (what :meth:`Retriever.configure` returned), ``postprocess`` (its record, or None) and
    ``suite_code`` (:func:`~hybridlib.suites.loader_code_sha256`: a changed loader is another
    suite).
    ``options.train_articles`` must already hold the model's own (``Retriever.training_articles``)."""
    identity = {
        "model_fingerprint": fingerprint if fingerprint is not None else retriever.fingerprint(),
        **retriever.options_record(options),
        "candidate_input": candidate_input,
        "evaluation_settings": evaluation_record,
        "postprocess": postprocess.record if postprocess is not None else None,
        "suite_code": loader_code_sha256(),
    }
    normalised: dict[str, Any] = json.loads(json.dumps(identity))
    return normalised


def identity_differences(provenance_file: Path, identity: dict[str, Any]) -> list[str] | None:
    """``None`` when ``provenance_file`` does not exist (nothing finished); else the entries
    of ``identity`` whose recorded value differs (``[]``: the results may be reused). A
    fingerprint that differs is named by its inner keys (``model_fingerprint.weights_sha256``).
    A provenance that cannot be read differs in everything."""
    if not provenance_file.is_file():
        return None
    try:
        recorded = json.loads(provenance_file.read_text(encoding="utf-8"))["parameters"]
        if not isinstance(recorded, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return ["provenance.json (unreadable)"]
    differences: list[str] = []
    for key, value in identity.items():
        old = recorded.get(key)
        if old == value:
            continue
        if isinstance(old, dict) and isinstance(value, dict):
            inner = sorted(k for k in {*old, *value} if old.get(k) != value.get(k))
            differences.extend(f"{key}.{k}" for k in inner)
        else:
            differences.append(key)
    return differences
