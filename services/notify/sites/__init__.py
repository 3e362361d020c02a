"""Places of worship: routines reminded to the site's security leads, with a signed link to record the outcome
without signing in, and routines overdue told to the area's neighbourhood officers (docs/notify.md, "Places of
worship"). Assessment keeps the sites, their routines and their records; notify only delivers and relays."""
