"""Community impact assessment prompts: asked of an area's neighbourhood team and community liaison, reminded
until completed, then reminded to review."""
