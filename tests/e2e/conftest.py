from tests.e2e.fixtures import own_mongo_stack, own_stack, shared_stack  # noqa: F401
