"""Files shipped with cvstudio: lessons, icons, styles."""
