"""The pure core: claims, decisions, tasks, deadlines and rules. Imports no faust, aiokafka, asyncpg or aiohttp
(enforced by the import contract in pyproject.toml). Functions take plain values and return plain values."""
