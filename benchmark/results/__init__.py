"""The result-file contract shared by running and reporting: the run identity that keys every
artefact of a run, and (planned, issue 24) the schema and checked reading and writing."""
