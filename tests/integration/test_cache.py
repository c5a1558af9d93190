"""The Redis cache against a real Redis; a dead Redis is a miss, never an error."""

from pipeline.core.cache import RedisCache, get_cache, redis_client


def test_redis_cache_round_trip(redis_client, settings):
    cache = get_cache(settings)
    assert isinstance(cache, RedisCache)
    cache.set("contract:1", '{"id": 1}', ttl=30)
    assert cache.get("contract:1") == b'{"id": 1}'
    assert 0 < redis_client.ttl("contract:1") <= 30
    cache.delete("contract:1")
    assert cache.get("contract:1") is None


def test_an_unreachable_redis_is_a_miss(settings):
    cache = RedisCache(redis_client("redis://127.0.0.1:1/0"))
    assert cache.get("x") is None
    cache.set("x", "1", ttl=5)  # logged, not raised
    cache.delete("x")
