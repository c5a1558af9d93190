from pipeline.core.cache import LocalCache


def test_values_expire():
    cache = LocalCache()
    cache.set("a", "1", ttl=60)
    cache.set("b", b"2", ttl=0)
    assert cache.get("a") == b"1"
    assert cache.get("b") is None
    cache.delete("a", "missing")
    assert cache.get("a") is None
