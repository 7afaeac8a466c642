"""maggma builders: thin shells around pure functions of the project's documents.

==============  ======================================  ==========================
name            sources -> target                       item
==============  ======================================  ==========================
documents       jobs + data (JobStore) -> materials,     one job output
                screening, funnel, models, predictions,
                features
structure       screening + materials -> evidence       one survivor's structure
features        materials -> features                   one composition
predictions     screening + features + models           a batch of survivors
                -> predictions
diffusion       jobs + data (JobStore) -> diffusion     one material and T
conductivity    diffusion + materials -> conductivity   one material (all T)
==============  ======================================  ==========================

``run_builders(stores, names=None) -> {name: documents built}``; ``superionic build [NAME]``.
Every builder is incremental (a second run builds nothing) and MSONable, so it also runs
under maggma's ``mrun`` (``superionic build --export builders.json`` writes the file).
"""

from superionic.builders.conductivity import ConductivityBuilder
from superionic.builders.diffusion import DiffusionBuilder
from superionic.builders.documents import DocumentsBuilder
from superionic.builders.features import FeatureBuilder
from superionic.builders.predictions import PredictionBuilder
from superionic.builders.structure import StructureEvidenceBuilder
from superionic.builders.registry import (
    BUILDERS,
    BuildFailedError,
    BuildReport,
    UnknownBuilderError,
    build,
    make_builders,
    run_builder,
    run_builders,
)

__all__ = [
    "BUILDERS",
    "BuildFailedError",
    "BuildReport",
    "ConductivityBuilder",
    "DiffusionBuilder",
    "DocumentsBuilder",
    "FeatureBuilder",
    "PredictionBuilder",
    "StructureEvidenceBuilder",
    "UnknownBuilderError",
    "build",
    "make_builders",
    "run_builder",
    "run_builders",
]
