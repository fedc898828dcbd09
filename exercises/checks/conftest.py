"""The learner's file as the fixture ``ex``: ``pytest exercises/checks/check_NN.py --exercise-file FILE``
(``lowtf check NN`` passes it)."""
import pytest

from lowtf.practice.checking import load_module


def pytest_addoption(parser):
    parser.addoption("--exercise-file", default=None, help="the learner's exercise file to check")


@pytest.fixture(scope="module")
def ex(request):
    path = request.config.getoption("--exercise-file")
    if path is None:
        pytest.fail("give the file to check: --exercise-file PATH (lowtf check NN does this)")
    return load_module(path)
