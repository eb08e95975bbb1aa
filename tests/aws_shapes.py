"""Check request parameters against botocore's service models: what AWS would reject at deploy."""

from __future__ import annotations

import botocore.session
from botocore.model import Shape
from botocore.validate import ParamValidator


def input_shape(service: str, operation: str) -> Shape:
    model = botocore.session.get_session().get_service_model(service)
    return model.operation_model(operation).input_shape


def _enum_errors(value, shape: Shape, path: str) -> list[str]:
    """botocore's validator checks types and required members; AWS also enforces enums."""
    errors = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, member in shape.members.items():
            if key in value:
                errors += _enum_errors(value[key], member, f"{path}.{key}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            errors += _enum_errors(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            errors += _enum_errors(item, shape.value, f"{path}.{key}")
    elif shape.type_name == "string" and shape.enum and value not in shape.enum:
        errors.append(f"{path}: {value!r} is not one of {shape.enum}")
    return errors


def validation_errors(service: str, operation: str, params: dict) -> list[str]:
    shape = input_shape(service, operation)
    report = ParamValidator().validate(params, shape)
    errors = report.generate_report().splitlines() if report.has_errors() else []
    return errors + _enum_errors(params, shape, operation)
