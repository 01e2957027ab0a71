"""The status command's tests share one MongoDB wire-protocol server (per test process) and a fresh database per
test: (name, pymongo Database), dropped afterwards."""

import uuid

import pytest

from local_stack import MongoServer


@pytest.fixture(scope="session")
def mongo():
    with MongoServer() as m:
        yield m


@pytest.fixture
def db(mongo):
    name = f"status_{uuid.uuid4().hex[:8]}"
    client = mongo.client(tz_aware=True)
    yield name, client[name]
    client.drop_database(name)
    client.close()
