"""Alembic environment: runs on the connection `gateway.store.migrate` hands it."""

from alembic import context

from gateway.store.schema import ALL_METADATA

config = context.config


def run_migrations_online():
    connection = config.attributes["connection"]
    context.configure(connection=connection, target_metadata=list(ALL_METADATA),
                      render_as_batch=connection.dialect.name == "sqlite",
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `jifen db upgrade`")
run_migrations_online()
