"""The binding against api/tandem-api.json: a method, parameter, type or
error kind added to the service without its binding fails here."""

import dataclasses
import inspect
import json
import typing

import tandem
from tandem import errors, types
from tandem.api import Api

from conftest import API_DESCRIPTION

DESCRIPTION = json.loads(API_DESCRIPTION.read_text())


def test_every_described_method_is_a_method_with_the_same_parameters():
    for method in DESCRIPTION["methods"]:
        fn = getattr(Api, method["name"], None)
        assert fn is not None, f"{method['name']} has no Python method"
        parameters = list(inspect.signature(fn).parameters.values())[1:]
        assert [p.name for p in parameters] == [p["name"] for p in method["params"]], method["name"]
        for p, described in zip(parameters, method["params"]):
            has_default = p.default is not inspect.Parameter.empty
            assert has_default == (not described["required"]), f"{method['name']}({p.name})"
        assert fn.api_result == method["result"], method["name"]


def test_no_method_is_bound_that_the_service_does_not_serve():
    described = {m["name"] for m in DESCRIPTION["methods"]}
    bound = {name for name, fn in vars(Api).items() if hasattr(fn, "api_result")}
    assert bound == described


def test_every_described_type_is_a_dataclass_with_exactly_its_fields_or_a_plain_value():
    for name, described in DESCRIPTION["types"].items():
        if name == "Empty":
            continue
        if name in types.UNWRAPPED:
            assert types.UNWRAPPED[name] in described["fields"], name
            continue
        cls = types.DATACLASSES.get(name)
        assert cls is not None, f"{name} has no dataclass"
        fields = {f.name: f for f in dataclasses.fields(cls)}
        assert set(fields) == set(described["fields"]), name
        hints = typing.get_type_hints(cls)
        for field, kind in described["fields"].items():
            optional = type(None) in typing.get_args(hints[field])
            assert optional == kind.endswith("?"), f"{name}.{field}"


def test_every_error_kind_has_its_exception_class():
    for error in DESCRIPTION["errors"]:
        cls = errors.BY_KIND.get(error["kind"])
        assert cls is not None, error["kind"]
        assert cls.status == error["status"]
        assert issubclass(cls, tandem.TandemError)
