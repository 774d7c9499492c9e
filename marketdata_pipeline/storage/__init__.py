"""ArcticDB storage: the store resource, schemas of each data type, series locks, IO manager."""
