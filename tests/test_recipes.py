"""Recipes: the shipped ones validate and say what the seed says; bad ones fail clearly."""

from __future__ import annotations

import pytest

from superionic.recipes import RecipeError, load_recipe


def test_seed_recipe_is_the_papers_protocol():
    seed = load_recipe("seed")
    assert seed.screening.min_band_gap_ev == 1.0 and seed.screening.min_oxidation_voltage_v == 3.7
    assert seed.screening.max_e_above_hull_ev == 0.0
    assert sorted(seed.classifier.algorithms) == sorted(["gnb", "lr", "dt", "sgd", "knn", "rf", "gb", "lgbm", "xgb"])
    assert seed.classifier.n_splits == 100
    assert seed.md.engine == "vasp" and seed.md.temperatures == [600, 800, 1000, 1200]
    assert (seed.md.equilibration_steps, seed.md.production_steps) == (3000, 10000)


def test_quick_recipe_is_the_laptop_default():
    quick = load_recipe("flows/quick.yaml")
    assert quick.source == "snapshot" and quick.md.engine == "forcefield" and quick.md.preset == "quick"


def test_descriptor_set_defaults_to_magpie_and_keeps_old_fingerprints():
    from superionic.jobs.classification import _fingerprint

    seed, quick = load_recipe("flows/seed.yaml").classifier, load_recipe("flows/quick.yaml").classifier
    assert seed.descriptors == quick.descriptors == "magpie"
    # recipes written before the field existed keep their fingerprint (a stored surrogate is reused) ...
    assert _fingerprint(seed, "h") == _fingerprint(seed.model_copy(update={"descriptors": "magpie"}), "h")
    # ... and another descriptor set is another surrogate
    assert _fingerprint(seed, "h") != _fingerprint(seed.model_copy(update={"descriptors": "chemistry"}), "h")


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: x\nclassifier: {algorithms: [rf]}\n", "the surrogate needs gb, lgbm"),
        ("name: x\nmd: {preset: slow}\n", "md.preset"),
        ("name: x\nmd: {temperatures: [-5]}\n", "positive kelvin"),
        ("name: x\nbogus: 1\n", "bogus"),
        ("name: [unclosed\n", "not valid YAML"),
        ("- a list\n", "must be a mapping"),
    ],
)
def test_bad_recipes_name_field_and_file(tmp_path, text, message):
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_unknown_recipe_lists_the_known_ones():
    with pytest.raises(RecipeError, match="quick"):
        load_recipe("no-such-recipe")


def test_md_force_field_and_its_second_opinion_name_registered_potentials():
    from pydantic import ValidationError

    from superionic.recipes import MDRecipe

    assert MDRecipe().cross_check == "auto" and MDRecipe(cross_check=None).cross_check is None
    assert MDRecipe(force_field="sevennet-0", cross_check="chgnet-0.3.0").force_field == "sevennet-0"
    for bad in ({"force_field": "mace-mp-0"}, {"cross_check": "mace-mp-0"}, {"force_field": None}):
        with pytest.raises(ValidationError):
            MDRecipe(**bad)


def test_auto_force_field_is_the_presets_default():
    """'auto' runs the potential the force-field table chose per preset: SevenNet-0 for the seed
    protocol, CHGNet 0.3.0 for the laptop's quick one; a named potential always wins."""
    from superionic.jobs.md_stage import md_maker_for
    from superionic.md.engines.potentials import DEFAULT_BY_PRESET, default_potential
    from superionic.recipes import MDRecipe

    assert MDRecipe().force_field == "auto"
    assert default_potential("seed") == DEFAULT_BY_PRESET["seed"] == "sevennet-0"
    assert default_potential("quick+T800") == default_potential("quick") == "chgnet-0.3.0"
    assert default_potential("seed", "chgnet-r2scan") == "chgnet-r2scan"
    seed = md_maker_for(MDRecipe(preset="seed")).segment_maker
    quick = md_maker_for(MDRecipe(preset="quick")).segment_maker
    assert (seed.force_field_name, seed.calculator_kwargs) == ("SevenNet", {"model": "7net-0"})
    assert quick.force_field_name == "CHGNet"
