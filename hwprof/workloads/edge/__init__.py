"""Edge applications of the study (Section IV-A): build-time data generators live here."""
