-- Privileges of the application role, applied after every migration run (so tables added by
-- later migrations are covered). Every statement is idempotent.
grant usage on schema public to {{app_role}};
grant select, insert, update, delete on all tables in schema public to {{app_role}};
grant usage, select on all sequences in schema public to {{app_role}};

-- The audit log is append-only for the application (its trigger stops everyone else).
revoke update, delete, truncate on audit_log from {{app_role}};

-- Only the migration runner writes the schema history.
revoke insert, update, delete, truncate on lockgate_schema_migrations from {{app_role}};

-- Promotion (V0005): states change only through strategy_transition(); versions are kept.
revoke update, delete on strategy_registry from {{app_role}};
revoke update, delete on strategy_checks, strategy_evidence from {{app_role}};
revoke delete on outbox from {{app_role}};
grant execute on function strategy_lock_version(text) to {{app_role}};
grant execute on function strategy_transition(text, text, text, boolean, boolean, text, text, jsonb) to {{app_role}};

-- dbt (as the application role) builds its models in the analytics schema (V0006).
grant usage, create on schema analytics to {{app_role}};
