SELECT count(*), sum(o.amount) FROM au_orders o JOIN au_big v ON o.id = v.id WHERE o.zone = 1;
