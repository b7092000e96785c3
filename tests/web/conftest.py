import pytest


@pytest.fixture(autouse=True)
def _isolated(clean_db):
    yield
