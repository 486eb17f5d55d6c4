\set id random(1, 1000000)
SELECT * FROM pq_v WHERE id = :id;
