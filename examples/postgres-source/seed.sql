-- examples/postgres-source: peer B's items table in its ERP's PostgreSQL
-- database, and keysync's least-privilege, read-only user.
-- Load it as the tables' owner: createdb erp && psql -d erp -f seed.sql
CREATE TABLE items (
  id         serial PRIMARY KEY,
  item_code  text,
  kind       text,
  bin        text,
  active     boolean NOT NULL DEFAULT true,
  updated_at timestamptz
);
INSERT INTO items (item_code, kind, bin, active, updated_at) VALUES
  ('itm-100', 'Article', 'Hall 1', true, '2024-05-01 08:00:00+00'),
  ('ITM 101', 'Article', 'Hall 1', true, '2024-05-01 09:30:00+02'),
  ('itm_102', 'Article', 'Hall 2', true, NULL),
  ('itm-105', 'Article', 'Hall 3', true, '2024-05-03'),
  ('itm-106', 'Article', NULL, false, '2024-05-04 12:00:00+00'),
  ('   ', 'Article', 'Hall 9', true, NULL);
CREATE ROLE keysync LOGIN PASSWORD 'change-me';
GRANT CONNECT ON DATABASE erp TO keysync;
GRANT USAGE ON SCHEMA public TO keysync;
GRANT SELECT ON items TO keysync;
