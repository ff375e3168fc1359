"""Analysis: statistics over repetitions and the tables people read. Imports the data layer only."""
