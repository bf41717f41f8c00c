"""The file cache stays close to RS_CACHE_SIZE entries while listing its folder only now and then."""

from core.cache import FileCache


def test_file_cache_stays_within_five_percent_of_its_size(tmp_path):
    cache = FileCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 200}})

    for number in range(1000):
        cache.set(f"key-{number}", number)
        assert len(list(tmp_path.glob("*.djcache"))) <= 210

    assert cache.get("key-999") == 999
