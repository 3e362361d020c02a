"""Patrol and visit tasking: the morning message of the day's tasking list to an area's neighbourhood officers,
and the signed link in it, per task, to record the visit (docs/notify.md, "Patrols and visits")."""
