"""Every public name has a numpydoc docstring and a place in the API reference."""

import inspect
from pathlib import Path

import pytest
from numpydoc.docscrape import ClassDoc, FunctionDoc

import pdeflow
import pdeflow.metrics

API_PAGE = (Path(__file__).resolve().parent.parent / "docs" / "api.rst").read_text()


def _public():
    for module in (pdeflow, pdeflow.metrics):
        for name in module.__all__:
            obj = getattr(module, name)
            if not inspect.ismodule(obj):
                yield f"{module.__name__}.{name}", name, obj


def _documented(section) -> set[str]:
    names = set()
    for param in section:
        names.update(n.strip().lstrip("*") for n in param.name.split(","))
    return names


def _parameters(func) -> set[str]:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return set()
    return {p.name for p in sig.parameters.values()
            if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


@pytest.mark.parametrize("qualname, name, obj", list(_public()), ids=lambda v: v if isinstance(v, str) else "")
def test_public_name_has_a_numpydoc_docstring(qualname, name, obj):
    assert obj.__doc__ and obj.__doc__.strip(), f"{qualname} has no docstring"
    if inspect.isclass(obj):
        doc = ClassDoc(obj, config={"show_class_members": False})
        documented = _documented(doc["Parameters"]) | _documented(doc["Attributes"])
        expected = _parameters(obj)
    else:
        doc = FunctionDoc(obj)
        documented = _documented(doc["Parameters"])
        expected = _parameters(obj)
        assert doc["Returns"], f"{qualname}: no Returns section"
    assert doc["Summary"], f"{qualname}: no one-line summary"
    missing = expected - documented
    assert not missing, f"{qualname}: parameters {sorted(missing)} are not documented"
    unknown = documented - expected if not inspect.isclass(obj) else set()
    assert not unknown, f"{qualname}: documents parameters it does not take: {sorted(unknown)}"
    assert f"   {name}\n" in API_PAGE, f"{qualname} is missing from docs/api.rst"


def test_the_reference_lists_nothing_private():
    listed = [line.strip() for line in API_PAGE.splitlines() if line.startswith("   ") and
              not line.strip().startswith(":")]
    public = {name for _, name, _ in _public()}
    assert listed and set(listed) <= public, sorted(set(listed) - public)
