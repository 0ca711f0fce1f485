-- examples/mysql-source: peer B's stock table in its warehouse system's
-- MySQL or MariaDB database, and keysync's least-privilege, read-only user.
-- Load it as an administrator: mysql -e 'CREATE DATABASE erp' && mysql erp < seed.sql
CREATE TABLE stock (
  id         INT AUTO_INCREMENT PRIMARY KEY,
  region     VARCHAR(8) NOT NULL,
  item_no    INT NOT NULL,
  bin        VARCHAR(20),
  counted_at DATETIME
);
INSERT INTO stock (region, item_no, bin, counted_at) VALUES
  ('eu', 100, 'WH-1', '2024-05-01 08:00:00'),
  ('eu', 101, 'WH-1', NULL),
  ('us', 7, 'WH-9', '2024-05-02 10:00:00'),
  ('EU', 100, 'WH-2', '2024-05-03 00:00:00');
CREATE USER 'keysync'@'%' IDENTIFIED BY 'change-me';
GRANT SELECT ON erp.stock TO 'keysync'@'%';
