"""The actions of areas' community impact assessments, chased on their owners until done (docs/notify.md,
"Area community impact assessments")."""
