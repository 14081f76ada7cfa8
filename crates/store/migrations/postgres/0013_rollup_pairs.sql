-- Rollups now also keep a segment for every two filters that are not both pages
-- ('channel=paid_search&device=mobile', 'device=mobile&page=/knee-pain') and for the page patterns
-- the site's goals, funnels and condition pages use ('page=/conditions/*'), and escape '%' and '&'
-- in segment names. Rollups are derived data: the rows are dropped and the background task
-- computes every day again.
DELETE FROM rollups;
DELETE FROM rollup_days;
