"""Which Redis the gateway talks to: the configured URL, or the embedded server."""

from __future__ import annotations

from arq.connections import ArqRedis, RedisSettings, create_pool

from gateway.queue.redis_server import EmbeddedRedis
from gateway.settings import Settings


def redis_settings(settings: Settings, embedded: EmbeddedRedis | None = None) -> RedisSettings:
    if settings.redis_url:
        return RedisSettings.from_dsn(settings.redis_url)
    server = embedded or EmbeddedRedis(settings.data_dir)
    server.start()
    return RedisSettings(unix_socket_path=str(server.socket), conn_retries=3, conn_timeout=2)


async def connect(settings: Settings, embedded: EmbeddedRedis | None = None) -> ArqRedis:
    return await create_pool(redis_settings(settings, embedded), default_queue_name=settings.queue_name)
