-- The findings of one system and kind together, for the summary's counts.
CREATE INDEX staging_findings_by_system ON staging_findings (system, kind);
