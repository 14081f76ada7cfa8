-- Where a heatmap's call to action sits, per device class: a page's layout differs between phones
-- and desktops, so one depth for all of them (heatmaps.cta_depth, now unused) was whichever device
-- reported last.
CREATE TABLE heatmap_cta (
    heatmap_id  BIGINT NOT NULL REFERENCES heatmaps(id) ON DELETE CASCADE,
    device      TEXT NOT NULL,
    depth       BIGINT NOT NULL,
    PRIMARY KEY (heatmap_id, device)
);
