-- Empty the staging tables: they hold the current run's rows only.
DELETE FROM staging_rows;
DELETE FROM staging_keys;
DELETE FROM staging_presence;
DELETE FROM staging_dup_rows;
DELETE FROM staging_rejects;
DELETE FROM staging_inputs;
DELETE FROM staging_master_keys;
DELETE FROM staging_systems;
