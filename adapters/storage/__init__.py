"""PostgreSQL storage: migrations, the embedded server, bulk loads and queries (asyncpg)."""
