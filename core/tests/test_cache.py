"""The file cache stays close to RS_CACHE_SIZE entries while listing its folder only now and then."""

from core.cache import COMPRESS_LIMIT, FileCache


def test_file_cache_stays_within_five_percent_of_its_size(tmp_path):
    cache = FileCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 200}})

    for number in range(1000):
        cache.set(f"key-{number}", number)
        assert len(list(tmp_path.glob("*.djcache"))) <= 210

    assert cache.get("key-999") == 999


def test_large_entries_are_stored_uncompressed_and_read_back_like_small_ones(tmp_path):
    cache = FileCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 200}})
    small, large = b"x" * 1000, bytes(range(256)) * (COMPRESS_LIMIT // 256 + 1)

    cache.set("small", small)
    cache.set("large", large)

    assert cache.get("small") == small and cache.get("large") == large
    sizes = {path.stat().st_size for path in tmp_path.glob("*.djcache")}
    # The small entry shrinks; the large one is stored whole.
    assert min(sizes) < len(small) and max(sizes) > len(large)
