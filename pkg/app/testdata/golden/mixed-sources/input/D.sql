-- The SQLite export of system D: sqlite3 input/D.sqlite < input/D.sql
CREATE TABLE parts (id INTEGER PRIMARY KEY, code TEXT, kind TEXT, hall TEXT, seen DATETIME);
INSERT INTO parts (code, kind, hall, seen) VALUES
  ('SKU-0001', 'Part', 'Hall 1', '2024-05-01 09:00:00'),
  ('SKU-0002', 'Part', NULL, NULL),
  ('SKU-0007', 'Part', 'Hall 9', '2024-05-03'),
  (NULL, 'Part', 'Hall 9', NULL),
  ('sku-2', 'Part', 'Hall 1', NULL);
