import pytest

from cvstudio.specs import DatasetSpec, ModelSpec, Param, SpecError


def test_param_validates_and_converts():
    p = Param("epochs", "int", 5, minimum=1, maximum=10)
    assert p.validate(3.0) == 3 and isinstance(p.validate(3.0), int)
    with pytest.raises(SpecError, match="below its minimum 1"):
        p.validate(0)
    with pytest.raises(SpecError, match="above its maximum 10"):
        p.validate(11)
    with pytest.raises(SpecError, match="whole number"):
        p.validate(2.5)
    with pytest.raises(SpecError, match="must be a number"):
        p.validate("3")
    with pytest.raises(SpecError, match="must be a number"):
        p.validate(True)


@pytest.mark.parametrize(
    "param, bad, message",
    [
        (Param("lr", "float", 0.1), float("nan"), "NaN"),
        (Param("flag", "bool", True), 1, "true or false"),
        (Param("opt", "choice", "adam", choices=("adam", "sgd")), "rmsprop", "choose one of 'adam', 'sgd'"),
        (Param("root", "path", ""), 3, "must be text"),
    ],
)
def test_param_rejects_wrong_values(param, bad, message):
    with pytest.raises(SpecError, match=message):
        param.validate(bad)


def test_param_definition_errors():
    with pytest.raises(SpecError, match="kind 'integer'"):
        Param("n", "integer", 1)
    with pytest.raises(SpecError, match="needs a non-empty 'choices'"):
        Param("c", "choice", "a")
    with pytest.raises(SpecError, match="^the default of parameter 'n' is 0, below its minimum 1; fix the default"):
        Param("n", "int", 0, minimum=1).check_default()
    with pytest.raises(SpecError, match="^dataset 'd': the default of parameter 'n' is 0, below its minimum 1"):
        DatasetSpec(name="d", description="x", factory="m:f", params=(Param("n", "int", 0, minimum=1),))


def test_every_parameter_cvstudio_defines_outside_a_spec_has_a_valid_default():
    """Specs check their parameters' defaults; cvstudio's own option tables are checked here."""
    import importlib
    import pkgutil

    import cvstudio.core

    params = []
    for module in pkgutil.iter_modules(cvstudio.core.__path__):
        for value in vars(importlib.import_module(f"cvstudio.core.{module.name}")).values():
            if isinstance(value, (tuple, list)):
                params += [p for p in value if isinstance(p, Param)]
    assert len(params) > 20
    for param in params:
        param.check_default()


def test_spec_requires_name_and_description():
    with pytest.raises(SpecError, match="name 'Bad Name'"):
        DatasetSpec(name="Bad Name", description="x", factory=lambda: None)
    with pytest.raises(SpecError, match="needs a description"):
        DatasetSpec(name="ok", description=" ", factory=lambda: None)
    with pytest.raises(SpecError, match="not a Param"):
        DatasetSpec(name="ok", description="x", factory=lambda: None, params=("size",))
    with pytest.raises(SpecError, match="twice"):
        DatasetSpec(name="ok", description="x", factory=lambda: None, params=(Param("a", "int", 1), Param("a", "int", 2)))


def test_resolve_fills_defaults_and_rejects_unknown_names():
    spec = ModelSpec(name="m", description="x", factory=lambda *a, **k: (a, k),
                     params=(Param("width", "int", 8, minimum=1), Param("act", "choice", "relu", choices=("relu", "tanh"))))
    assert spec.resolve({"width": 16}) == {"width": 16, "act": "relu"}
    with pytest.raises(SpecError, match="has no parameter 'widht' \\(it has: width, act\\)"):
        spec.resolve({"widht": 3})
    assert spec.create(3, (32, 32), 10, act="tanh") == ((3, (32, 32), 10), {"width": 8, "act": "tanh"})


def test_lazy_factory_string_is_imported_on_create():
    spec = DatasetSpec(name="d", description="x", factory="cvstudio.testing:make_tiny_dataset")
    dataset = spec.create()
    assert dataset.num_classes == 3
    bad = DatasetSpec(name="d", description="x", factory="no_colon_here")
    with pytest.raises(SpecError, match="module:attribute"):
        bad.create()
