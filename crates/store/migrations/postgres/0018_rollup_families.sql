-- A page pattern remembered on its own ('page=/blog/*') is now rolled up as a family: alone and
-- with each filter value ('device=mobile&page=/blog/*'), like a pattern a goal defines. The days
-- filled in before hold the pattern alone, so they are filled in again.
UPDATE report_segments SET done_from = NULL
WHERE segment LIKE 'page=%' AND segment LIKE '%*%' AND segment NOT LIKE '%&%';
