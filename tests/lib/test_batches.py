import pytest
from django.db import connection

from ablesung.lib.batches import BATCH_SIZE, batches


def test_batches_keep_order_and_size() -> None:
    assert list(batches(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batches([1, 2], 2)) == [[1, 2]]
    assert list(batches([], 3)) == []
    assert [len(batch) for batch in batches(range(BATCH_SIZE + 1))] == [BATCH_SIZE, 1]
    with pytest.raises(ValueError, match="at least 1"):
        list(batches([1], 0))


@pytest.mark.django_db
def test_a_batch_fits_in_one_statement_on_this_database() -> None:
    limit = connection.features.max_query_params
    assert limit is None or limit // 2 > BATCH_SIZE
