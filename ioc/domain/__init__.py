"""Reference data of the provinces, shared by the simulators, the schema and the alerts.

geo.py       provinces and district-level units, with their Vietnamese names
names.py     display names of the codes in the events (gateways, methods, error codes, ...)
targets.py   each province's targets: published figures or stated assumptions
calendar.py  the Vietnamese calendar: lunar dates, public holidays, working days
"""
