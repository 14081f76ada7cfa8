-- Every event carries its visit's source, channel and campaign (how the visit began), so reports
-- filter events by them without joining visits. Events written before this had their own.
UPDATE events SET source = visits.source, channel = visits.channel, campaign = visits.campaign
FROM visits
WHERE visits.id = events.visit_id
  AND (events.source <> visits.source OR events.channel <> visits.channel OR events.campaign <> visits.campaign);
