-- A stopped heatmap no longer records, but stays listed with its clicks until it is resumed: before,
-- stopping deleted the heatmap and its recorded clicks could no longer be reached.
ALTER TABLE heatmaps ADD COLUMN stopped_at INTEGER;
