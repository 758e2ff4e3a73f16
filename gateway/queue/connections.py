"""Which Redis the gateway talks to: the configured URL, or the embedded server."""

from __future__ import annotations

from arq.connections import ArqRedis, RedisSettings, create_pool

from gateway.queue.redis_server import EmbeddedRedis
from gateway.settings import Settings


def embedded_redis(settings: Settings) -> EmbeddedRedis | None:
    """The private redis-server of the data folder, unless a Redis URL is configured."""
    return None if settings.redis_url else EmbeddedRedis(settings.data_dir)


def redis_settings(settings: Settings, embedded: EmbeddedRedis | None) -> RedisSettings:
    """How to reach Redis; starts nothing (see ``EmbeddedRedis.start``)."""
    if settings.redis_url:
        return RedisSettings.from_dsn(settings.redis_url)
    assert embedded is not None, "no Redis URL configured: pass the embedded server"
    return RedisSettings(unix_socket_path=str(embedded.socket), conn_retries=3, conn_timeout=2)


async def start_and_connect(settings: Settings, embedded: EmbeddedRedis | None = None) -> ArqRedis:
    """A connection pool to the gateway's Redis, starting the embedded server if needed."""
    embedded = embedded or embedded_redis(settings)
    if embedded is not None:
        embedded.start()
    return await create_pool(redis_settings(settings, embedded), default_queue_name=settings.queue_name)
