"""A running lab: lab files, start_lab, one process or many, the supervisor, the control API and its client."""
