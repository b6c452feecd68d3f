"""Reference data of the provinces: geography, names, targets and the calendar."""
