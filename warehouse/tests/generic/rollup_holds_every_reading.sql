{#- A rollup of fct_heart_rates counts every reading once and sums the same heart rates: what the
    semantic layer checks (its `covers` expression) before it answers a request from the rollup. -#}
{% test rollup_holds_every_reading(model) %}
with rolled as (select coalesce(sum(readings), 0) as n, sum(heart_rate_sum) as s from {{ model }}),
     fact as (select count(*) as n, sum(heart_rate) as s from {{ ref('fct_heart_rates') }})
select rolled.n as rollup_readings, fact.n as fact_readings, rolled.s as rollup_sum, fact.s as fact_sum
from rolled, fact
where rolled.n is distinct from fact.n or rolled.s is distinct from fact.s
{% endtest %}
