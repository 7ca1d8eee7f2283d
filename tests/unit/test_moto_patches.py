"""The moto patch the local stack relies on stays applied for the life of the process."""
import gc

from moto.dynamodb import models

from local import moto_patches


def test_install_survives_garbage_collection():
    moto_patches.install()
    gc.collect()
    patched = models.DynamoDBBackend.transact_write_items
    assert patched.__name__ == "transact_write_items" and patched.__module__ == "local.moto_patches"
    moto_patches.install()  # idempotent
    assert models.DynamoDBBackend.transact_write_items is patched
